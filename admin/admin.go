// Package admin is nsqadmin: a web UI, and the JSON API under /api/ it is
// built on, for watching and administering an NSQ cluster. It behaves as
// upstream nsqadmin v1.3.0 (same API documents, same options) and talks
// to nsqd and nsqlookupd only over their HTTP APIs (package cluster), so
// it works against upstream's daemons as well as ours.
//
// Beyond upstream, it samples every nsqd's /stats itself and draws live
// charts of message rate, depth and in-flight count (package series);
// Graphite, when configured, still works as upstream.
//
// The UI is plain HTML, CSS and JavaScript embedded in the binary: no CDN,
// no build step.
package admin

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqfast/nsq/admin/cluster"
	"github.com/nsqfast/nsq/admin/series"
)

// Version is the NSQ release nsqadmin answers as.
const Version = "1.3.0"

// VersionString is upstream's version line, e.g.
// "nsqadmin v1.3.0 (built w/go1.26.1)".
func VersionString() string {
	return fmt.Sprintf("nsqadmin v%s (built w/%s)", Version, runtime.Version())
}

// NSQAdmin is a running nsqadmin. Its methods are safe for concurrent use.
//
// Goroutines: the HTTP server's; the sampler (one, with SampleInterval);
// the notification sender (one, with NotificationHTTPEndpoint).
type NSQAdmin struct {
	opts        atomic.Pointer[Options] // replaced by PUT /config/:opt
	logger      *log.Logger
	tlsConfig   *tls.Config
	graphiteURL *url.URL
	client      *cluster.Client
	ci          *cluster.Cluster                       // logs its queries at INFO, as upstream
	quiet       *cluster.Cluster                       // the sampler's: logs at DEBUG
	store       *series.Store                          // nil without charts
	nodeRates   atomic.Pointer[map[counterKey]float32] // the sampler's last per-nsqd rates
	lastSeen    atomic.Int64                           // unix ns of the UI's last request
	wake        chan struct{}                          // wakes an idle sampler
	idleAfter   time.Duration                          // sampleIdle (shorter in tests)
	notifier    *notifier                              // nil without a notification endpoint

	httpLn  net.Listener
	httpSrv *http.Server

	ctx      context.Context // cancelled by Exit
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	exitOnce sync.Once
}

// New validates opts and listens on its HTTP address; nothing is served
// until Main.
func New(opts *Options) (*NSQAdmin, error) {
	o := *opts
	tlsConfig, err := o.validate()
	if err != nil {
		return nil, err
	}
	o.BasePath = normalizeBasePath(o.BasePath)
	var w io.Writer = os.Stderr
	if o.LogOutput != nil {
		w = o.LogOutput
	}
	a := &NSQAdmin{
		logger:    log.New(w, o.LogPrefix, log.Ldate|log.Ltime|log.Lmicroseconds),
		tlsConfig: tlsConfig,
	}
	a.opts.Store(&o)
	if o.ProxyGraphite {
		a.graphiteURL, _ = url.Parse(o.GraphiteURL) // validated
	}
	a.client = cluster.NewClient(tlsConfig, o.HTTPClientConnectTimeout, o.HTTPClientRequestTimeout)
	a.ci = cluster.New(a.client, func(f string, args ...any) { a.logf(LogInfo, f, args...) })
	a.quiet = cluster.New(a.client, func(f string, args ...any) { a.logf(LogDebug, f, args...) })
	if o.SampleInterval > 0 {
		a.store = series.New(int(o.SampleHistory / o.SampleInterval))
		a.wake = make(chan struct{}, 1)
		a.idleAfter = sampleIdle
		// sample from the start, as if someone had just looked
		a.lastSeen.Store(time.Now().UnixNano())
	}
	if o.NotificationHTTPEndpoint != "" {
		a.notifier = newNotifier(a)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())

	a.logf(LogInfo, "%s", VersionString())
	a.httpLn, err = net.Listen("tcp", o.HTTPAddress)
	if err != nil {
		return nil, fmt.Errorf("listen (%s) failed - %s", o.HTTPAddress, err)
	}
	return a, nil
}

func (a *NSQAdmin) getOpts() *Options { return a.opts.Load() }

func (a *NSQAdmin) logf(level LogLevel, format string, args ...any) {
	if level < a.getOpts().LogLevel {
		return
	}
	_ = a.logger.Output(2, level.String()+": "+fmt.Sprintf(format, args...))
}

// maxRequestBody bounds what nsqadmin reads of a request body.
const maxRequestBody = 2 << 20

// HTTPAddr is the address the UI is served on.
func (a *NSQAdmin) HTTPAddr() *net.TCPAddr { return a.httpLn.Addr().(*net.TCPAddr) }

// Main starts serving, sampling and notifying, and returns at once.
func (a *NSQAdmin) Main() error {
	h := a.newHandler()
	a.httpSrv = &http.Server{
		// Request bodies (small JSON documents) are decoded as they are
		// read; maxRequestBody keeps a client from making a decoder hold
		// more. Twice the largest an endpoint accepts (the 1 MiB of PUT
		// /config), so each endpoint's own limit and answer apply first.
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
			h.ServeHTTP(w, r)
		}),
		ErrorLog: log.New(logWriter{a}, "", 0),
	}
	a.getOpts().HTTPLimits.Apply(a.httpSrv)
	a.logf(LogInfo, "HTTP: listening on %s", a.httpLn.Addr())
	a.wg.Go(func() {
		if err := a.httpSrv.Serve(a.httpLn); err != nil && err != http.ErrServerClosed {
			a.logf(LogError, "HTTP: serve failed - %s", err)
		}
		a.logf(LogInfo, "HTTP: closing %s", a.httpLn.Addr())
	})
	if a.store != nil {
		a.wg.Go(func() { a.sampleLoop(a.ctx) })
	}
	if a.notifier != nil {
		a.wg.Go(a.notifier.run)
	}
	return nil
}

// Exit stops serving (requests under way may finish for up to 5s), stops
// sampling, sends the notifications already queued, and returns.
func (a *NSQAdmin) Exit() {
	a.exitOnce.Do(func() {
		if a.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = a.httpSrv.Shutdown(ctx)
			cancel()
		} else {
			a.httpLn.Close()
		}
		a.cancel()
		if a.notifier != nil {
			a.notifier.close()
		}
		a.wg.Wait()
		a.client.CloseIdle()
	})
}

// logWriter sends the HTTP server's own complaints to the log.
type logWriter struct{ a *NSQAdmin }

func (w logWriter) Write(p []byte) (int, error) {
	w.a.logf(LogError, "HTTP: %s", trimNewline(string(p)))
	return len(p), nil
}

func trimNewline(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
