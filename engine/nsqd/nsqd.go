// Package nsqd assembles a whole nsqd: the engine, the V2 TCP server
// (netpoll) and the HTTP API (engine/httpapi), configured by Options with
// upstream's flag and config names. cmd/nsqd is a thin main over it, and
// tests start it in-process.
package nsqd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/engine/httpapi"
	"github.com/nsqfast/nsq/netpoll"
)

// Version is the upstream version this build is compatible with; it is
// what IDENTIFY, /info and /stats report.
const Version = "1.3.0"

// NSQD is a running nsqd. Its methods are safe for concurrent use.
type NSQD struct {
	opts   *Options
	logger *log.Logger

	eng      *engine.Engine
	tcp      *netpoll.Server
	httpLn   net.Listener
	httpSrv  *http.Server
	lockFile *os.File

	mu struct {
		sync.Mutex
		logLevel LogLevel
		lookupd  []string
	}
	exitOnce sync.Once
}

// New validates opts, takes the data path and restores the stored topics.
// Nothing listens until Main.
func New(opts *Options) (*NSQD, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var w io.Writer = os.Stderr
	if opts.LogOutput != nil {
		w = opts.LogOutput
	}
	n := &NSQD{opts: opts, logger: log.New(w, opts.LogPrefix, log.Ldate|log.Ltime|log.Lmicroseconds)}
	n.mu.logLevel = opts.LogLevel
	n.mu.lookupd = append([]string(nil), opts.NSQLookupdTCPAddresses...)

	dataPath := opts.DataPath
	if dataPath == "" {
		cwd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		dataPath = cwd
	}
	if err := os.MkdirAll(dataPath, 0o755); err != nil {
		return nil, fmt.Errorf("--data-path=%s: %w", dataPath, err)
	}
	lf, err := lockDataPath(dataPath)
	if err != nil {
		return nil, err
	}
	n.lockFile = lf
	eng, err := engine.New(engine.Options{
		DataPath:            dataPath,
		MemQueueSize:        opts.MemQueueSize,
		MaxBytesPerFile:     opts.MaxBytesPerFile,
		SyncEvery:           opts.SyncEvery,
		SyncTimeout:         opts.SyncTimeout,
		QueueScanInterval:   opts.QueueScanInterval,
		MsgTimeout:          opts.MsgTimeout,
		MaxMsgTimeout:       opts.MaxMsgTimeout,
		MaxReqTimeout:       opts.MaxReqTimeout,
		MaxChannelConsumers: opts.MaxChannelConsumers,
		Logf:                n.engineLogf,
	})
	if err != nil {
		_ = lf.Close()
		return nil, fmt.Errorf("failed to load data: %w", err)
	}
	n.eng = eng
	return n, nil
}

// lockDataPath takes an exclusive lock so that two nsqd never share one
// --data-path, as upstream.
func lockDataPath(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/nsqd.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("--data-path=%s in use (possibly by another instance of nsqd)", dir)
	}
	return f, nil
}

func (n *NSQD) engineLogf(level engine.LogLevel, format string, args ...any) {
	n.logf(LogLevel(level), format, args...)
}

func (n *NSQD) logf(level LogLevel, format string, args ...any) {
	n.mu.Lock()
	min := n.mu.logLevel
	n.mu.Unlock()
	if level < min {
		return
	}
	n.logger.Output(3, level.String()+": "+fmt.Sprintf(format, args...))
}

// Engine returns the broker core.
func (n *NSQD) Engine() *engine.Engine { return n.eng }

// TCPAddr is the bound TCP (or unix socket) address, after Main.
func (n *NSQD) TCPAddr() net.Addr { return n.tcp.Addr() }

// HTTPAddr is the bound HTTP address, after Main.
func (n *NSQD) HTTPAddr() net.Addr { return n.httpLn.Addr() }

// Main starts the listeners and returns; errors come from binding.
func (n *NSQD) Main() error {
	o := n.opts
	n.tcp = netpoll.New(netpoll.Options{
		Address:                o.TCPAddress,
		Version:                Version,
		ClientTimeout:          o.ClientTimeout,
		MaxHeartbeatInterval:   o.MaxHeartbeatInterval,
		MaxRdyCount:            o.MaxRdyCount,
		MaxOutputBufferSize:    o.MaxOutputBufferSize,
		MaxOutputBufferTimeout: o.MaxOutputBufferTimeout,
		MinOutputBufferTimeout: o.MinOutputBufferTimeout,
		OutputBufferTimeout:    o.OutputBufferTimeout,
		MaxMsgSize:             o.MaxMsgSize,
		MaxBodySize:            o.MaxBodySize,
		MsgTimeout:             o.MsgTimeout,
		MaxMsgTimeout:          o.MaxMsgTimeout,
		MaxReqTimeout:          o.MaxReqTimeout,
		MaxDeflateLevel:        o.MaxDeflateLevel,
		Logf:                   n.engineLogf,
	}, n.eng)
	if err := n.tcp.Start(); err != nil {
		return fmt.Errorf("listen (%s) failed - %w", o.TCPAddress, err)
	}
	n.logf(LogInfo, "TCP: listening on %s", n.tcp.Addr())

	network := "tcp"
	if strings.Contains(o.HTTPAddress, "/") {
		network = "unix"
	}
	ln, err := net.Listen(network, o.HTTPAddress)
	if err != nil {
		_ = n.tcp.Stop(context.Background())
		return fmt.Errorf("listen (%s) failed - %w", o.HTTPAddress, err)
	}
	n.httpLn = ln
	n.logf(LogInfo, "HTTP: listening on %s", ln.Addr())
	hostname, _ := os.Hostname()
	n.httpSrv = &http.Server{
		Handler: httpapi.New(httpapi.Options{
			Engine:                 n.eng,
			Clients:                n.tcp.Clients,
			Version:                Version,
			BroadcastAddress:       o.BroadcastAddress,
			Hostname:               hostname,
			TCPPort:                portOf(n.tcp.Addr()),
			HTTPPort:               portOf(ln.Addr()),
			MaxMsgSize:             o.MaxMsgSize,
			MaxBodySize:            o.MaxBodySize,
			MaxReqTimeout:          o.MaxReqTimeout,
			MaxHeartbeatInterval:   o.MaxHeartbeatInterval,
			MaxOutputBufferSize:    o.MaxOutputBufferSize,
			MaxOutputBufferTimeout: o.MaxOutputBufferTimeout,
			MaxDeflateLevel:        o.MaxDeflateLevel,
			GetConfig:              n.getConfig,
			SetConfig:              n.setConfig,
			Logf:                   n.engineLogf,
		}),
		ErrorLog:          log.New(io.Discard, "", 0),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		if err := n.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.logf(LogError, "HTTP: %s", err)
		}
	}()
	return nil
}

// portOf is the port of a listener; -1 for a unix socket, as upstream's
// /info reports it.
func portOf(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return -1
}

// getConfig answers GET /config/{opt} for any option by its config name,
// as upstream; the two options that can change at run time come from
// their live values.
func (n *NSQD) getConfig(opt string) (any, bool) {
	n.mu.Lock()
	switch opt {
	case "nsqlookupd_tcp_addresses":
		defer n.mu.Unlock()
		return append([]string{}, n.mu.lookupd...), true
	case "log_level":
		defer n.mu.Unlock()
		return int(n.mu.logLevel), true
	}
	n.mu.Unlock()
	v := reflect.ValueOf(n.opts).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		flagName := f.Tag.Get("flag")
		if flagName == "" {
			continue
		}
		cfg := f.Tag.Get("cfg")
		if cfg == "" {
			cfg = strings.ReplaceAll(flagName, "-", "_")
		}
		if cfg == opt {
			return v.Field(i).Interface(), true
		}
	}
	return nil, false
}

func (n *NSQD) setConfig(opt string, body []byte) error {
	switch opt {
	case "log_level":
		lvl, err := ParseLogLevel(strings.TrimSpace(string(body)))
		if err != nil {
			return err
		}
		n.mu.Lock()
		n.mu.logLevel = lvl
		n.mu.Unlock()
		return nil
	case "nsqlookupd_tcp_addresses":
		return errors.New("lookupd registration is not supported by this build yet (see docs/COMPATIBILITY.md)")
	}
	return errors.New("unknown option")
}

// Exit stops listening, disconnects every client, checkpoints every
// channel and closes the data path.
func (n *NSQD) Exit() {
	n.exitOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if n.httpSrv != nil {
			_ = n.httpSrv.Shutdown(ctx)
		}
		if n.tcp != nil {
			_ = n.tcp.Stop(ctx)
		}
		if err := n.eng.Close(); err != nil {
			n.logf(LogError, "failed to persist metadata - %s", err)
		}
		if n.lockFile != nil {
			_ = n.lockFile.Close()
		}
	})
}
