// Package lookup is nsqlookupd: the directory nsqd register their topics
// and channels with over the V1 TCP protocol (wire/lookupv1), and that
// consumers and nsqadmin query over HTTP to find which nsqd have a topic.
// It behaves as NSQ v1.3.0's nsqlookupd; docs/COMPATIBILITY.md lists the
// deliberate differences.
//
// The registrations live in memory only (lookup/registry), as upstream:
// after a restart nsqlookupd knows nothing until each nsqd reconnects and
// registers everything again, which the nsqd side (lookup/client) does on
// its own.
//
// # Goroutines
//
// One goroutine accepts TCP connections, and each connection has one
// goroutine that reads commands, runs them and writes the answers
// (nsqlookupd serves a handful of long-lived nsqd connections; there is no
// need for an event loop). net/http serves the HTTP API. All of them share
// only the registry, which has its own lock, and the set of open
// connections (NSQLookupd.mu), used by Exit to close them.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/nsqfast/nsq/lookup/registry"
	"github.com/nsqfast/nsq/wire/lookupv1"
)

// Version is the upstream version this build is compatible with, reported
// by /info and IDENTIFY.
const Version = "1.3.0"

// VersionString is upstream's version line, e.g.
// "nsqlookupd v1.3.0 (built w/go1.26.1)".
func VersionString() string {
	return fmt.Sprintf("nsqlookupd v%s (built w/%s)", Version, runtime.Version())
}

// NSQLookupd is a running nsqlookupd. Its methods are safe for concurrent
// use.
type NSQLookupd struct {
	opts     *Options
	limits   lookupv1.Limits
	logger   *log.Logger
	hostname string
	db       *registry.DB

	tcpLn   net.Listener
	httpLn  net.Listener
	httpSrv *http.Server
	wg      sync.WaitGroup // the accept loop and every connection

	mu struct {
		sync.Mutex
		conns  map[net.Conn]struct{}
		closed bool
	}
	exitOnce sync.Once
}

// New validates opts. Nothing listens until Main.
func New(opts *Options) (*NSQLookupd, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var w io.Writer = os.Stderr
	if opts.LogOutput != nil {
		w = opts.LogOutput
	}
	hostname, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("unable to get hostname - %w", err)
	}
	l := &NSQLookupd{
		opts:     opts,
		limits:   opts.Limits,
		logger:   log.New(w, opts.LogPrefix, log.Ldate|log.Ltime|log.Lmicroseconds),
		hostname: hostname,
		db:       registry.New(),
	}
	if l.limits == (lookupv1.Limits{}) {
		l.limits = lookupv1.DefaultLimits()
	}
	l.mu.conns = map[net.Conn]struct{}{}
	return l, nil
}

func (l *NSQLookupd) logf(level LogLevel, format string, args ...any) {
	if level < l.opts.LogLevel {
		return
	}
	_ = l.logger.Output(2, level.String()+": "+fmt.Sprintf(format, args...))
}

// DB is the registration database.
func (l *NSQLookupd) DB() *registry.DB { return l.db }

// TCPAddr is the bound TCP address, after Main.
func (l *NSQLookupd) TCPAddr() *net.TCPAddr { return l.tcpLn.Addr().(*net.TCPAddr) }

// HTTPAddr is the bound HTTP address, after Main.
func (l *NSQLookupd) HTTPAddr() *net.TCPAddr { return l.httpLn.Addr().(*net.TCPAddr) }

// Main binds both listeners and starts serving; it returns at once, with
// an error only if binding failed.
func (l *NSQLookupd) Main() error {
	l.logf(LogInfo, "%s", VersionString())
	ln, err := net.Listen("tcp", l.opts.TCPAddress)
	if err != nil {
		return fmt.Errorf("listen (%s) failed - %w", l.opts.TCPAddress, err)
	}
	l.tcpLn = ln
	hl, err := net.Listen("tcp", l.opts.HTTPAddress)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen (%s) failed - %w", l.opts.HTTPAddress, err)
	}
	l.httpLn = hl

	l.logf(LogInfo, "TCP: listening on %s", ln.Addr())
	l.wg.Add(1)
	go l.acceptLoop()

	l.logf(LogInfo, "HTTP: listening on %s", hl.Addr())
	l.httpSrv = &http.Server{
		Handler:  l.newHTTPHandler(),
		ErrorLog: log.New(logWriter{l}, "", 0),
	}
	l.opts.HTTPLimits.Apply(l.httpSrv)
	go func() {
		if err := l.httpSrv.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.logf(LogError, "HTTP: %s", err)
		}
	}()
	return nil
}

// logWriter sends net/http's own complaints to the log, as upstream does.
type logWriter struct{ l *NSQLookupd }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.logf(LogWarn, "%s", p)
	return len(p), nil
}

func (l *NSQLookupd) acceptLoop() {
	defer l.wg.Done()
	for {
		conn, err := l.tcpLn.Accept()
		if err != nil {
			if ne, ok := err.(interface{ Temporary() bool }); ok && ne.Temporary() {
				l.logf(LogWarn, "temporary Accept() failure - %s", err)
				runtime.Gosched()
				continue
			}
			if !errors.Is(err, net.ErrClosed) {
				l.logf(LogError, "listener.Accept() error - %s", err)
			}
			l.logf(LogInfo, "TCP: closing %s", l.tcpLn.Addr())
			return
		}
		if !l.track(conn) {
			_ = conn.Close()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.untrack(conn)
			l.serveConn(conn)
		}()
	}
}

// track records an open connection; false once Exit has begun.
func (l *NSQLookupd) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return false
	}
	l.mu.conns[c] = struct{}{}
	return true
}

func (l *NSQLookupd) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.mu.conns, c)
	l.mu.Unlock()
	_ = c.Close()
}

// Exit stops listening, closes every connection (their registrations go
// with them) and waits for the connection goroutines.
func (l *NSQLookupd) Exit() {
	l.exitOnce.Do(func() {
		if l.tcpLn != nil {
			_ = l.tcpLn.Close()
		}
		l.mu.Lock()
		l.mu.closed = true
		for c := range l.mu.conns {
			_ = c.Close()
		}
		l.mu.Unlock()
		if l.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = l.httpSrv.Shutdown(ctx)
			cancel()
		}
		l.wg.Wait()
	})
}
