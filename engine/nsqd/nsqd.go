// Package nsqd assembles a whole nsqd: the engine, the V2 TCP server
// (netpoll) and the HTTP API (engine/httpapi), configured by Options with
// upstream's flag and config names. cmd/nsqd is a thin main over it, and
// tests start it in-process.
package nsqd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/nsqfast/nsq/engine/migrate"
	"github.com/nsqfast/nsq/lookup/client"
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
	httpsLn  net.Listener
	httpsSrv *http.Server
	lockFile *os.File
	lookupd  *client.Client // registration with nsqlookupd
	statsd   *statsdPusher  // nil without --statsd-address

	tlsConfig       *tls.Config // nil without --tls-cert/--tls-key
	clientTLSConfig *tls.Config // for talking to auth servers
	tlsRequired     TLSRequirement

	mu struct {
		sync.Mutex
		logLevel LogLevel
	}
	exitOnce sync.Once
	// exitCtx is every HTTP request's base context, cancelled by Exit.
	exitCtx    context.Context
	exitCancel context.CancelFunc
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
	n.exitCtx, n.exitCancel = context.WithCancel(context.Background())
	n.mu.logLevel = opts.LogLevel
	n.lookupd = n.newLookupClient(opts)

	// As upstream: a client auth policy implies TLS is required.
	n.tlsRequired = opts.TLSRequired
	if opts.TLSClientAuthPolicy != "" && n.tlsRequired == TLSNotRequired {
		n.tlsRequired = TLSRequired
	}
	var err error
	if n.tlsConfig, err = buildTLSConfig(opts); err != nil {
		return nil, fmt.Errorf("failed to build TLS config - %w", err)
	}
	if n.tlsConfig == nil && n.tlsRequired != TLSNotRequired {
		return nil, errors.New("cannot require TLS client connections without TLS key and cert")
	}
	if n.clientTLSConfig, err = buildClientTLSConfig(opts); err != nil {
		return nil, fmt.Errorf("failed to build client TLS config - %w", err)
	}

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
	if rep, err := migrate.Import(dataPath, opts.MaxBytesPerFile, func(f string, a ...any) { n.logf(LogInfo, f, a...) }); err != nil {
		_ = lf.Close()
		return nil, fmt.Errorf("failed to import upstream nsqd data: %w", err)
	} else if rep.Imported {
		n.logf(LogInfo, "MIGRATE: %s", rep)
	}
	eng, err := engine.New(engine.Options{
		DataPath:            dataPath,
		NodeID:              opts.ID,
		MemQueueSize:        opts.MemQueueSize,
		MaxBytesPerFile:     opts.MaxBytesPerFile,
		SyncEvery:           opts.SyncEvery,
		SyncTimeout:         opts.SyncTimeout,
		QueueScanInterval:   opts.QueueScanInterval,
		MsgTimeout:          opts.MsgTimeout,
		MaxMsgTimeout:       opts.MaxMsgTimeout,
		MaxReqTimeout:       opts.MaxReqTimeout,
		MaxChannelConsumers: opts.MaxChannelConsumers,
		E2EPercentiles:      opts.E2EProcessingLatencyPercentiles,
		E2EWindow:           opts.E2EProcessingLatencyWindowTime,
		RetentionAge:        opts.RetentionAge,
		RetentionBytes:      opts.RetentionBytes,
		MsgTTL:              opts.MsgTTL,
		MaxAttempts:         uint16(opts.MaxAttempts),
		OnChange:            n.onChange,
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
		Address:                  o.TCPAddress,
		Version:                  Version,
		ClientTimeout:            o.ClientTimeout,
		MaxHeartbeatInterval:     o.MaxHeartbeatInterval,
		MaxRdyCount:              o.MaxRdyCount,
		MaxOutputBufferSize:      o.MaxOutputBufferSize,
		MaxOutputBufferTimeout:   o.MaxOutputBufferTimeout,
		MinOutputBufferTimeout:   o.MinOutputBufferTimeout,
		OutputBufferTimeout:      o.OutputBufferTimeout,
		MaxMsgSize:               o.MaxMsgSize,
		MaxBodySize:              o.MaxBodySize,
		MsgTimeout:               o.MsgTimeout,
		MaxMsgTimeout:            o.MaxMsgTimeout,
		MaxReqTimeout:            o.MaxReqTimeout,
		MaxDeflateLevel:          o.MaxDeflateLevel,
		TLSConfig:                n.tlsConfig,
		TLSRequired:              n.tlsRequired != TLSNotRequired,
		SnappyEnabled:            o.SnappyEnabled,
		DeflateEnabled:           o.DeflateEnabled,
		AuthHTTPAddresses:        o.AuthHTTPAddresses,
		HTTPClientConnectTimeout: o.HTTPClientConnectTimeout,
		HTTPClientRequestTimeout: o.HTTPClientRequestTimeout,
		AuthClientTLSConfig:      n.clientTLSConfig,
		MaxConnsPerIP:            o.MaxConnsPerIP,
		Logf:                     n.engineLogf,
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
	if n.tlsConfig != nil && o.HTTPSAddress != "" {
		hl, err := net.Listen("tcp", o.HTTPSAddress)
		if err != nil {
			_ = ln.Close()
			_ = n.tcp.Stop(context.Background())
			return fmt.Errorf("listen (%s) failed - %w", o.HTTPSAddress, err)
		}
		n.httpsLn = tls.NewListener(hl, n.tlsConfig)
		n.logf(LogInfo, "HTTPS: listening on %s", hl.Addr())
	}
	api := httpapi.New(n.httpOptions(ln))
	n.httpSrv = n.serveHTTP("HTTP", ln, api, n.tlsRequired == TLSRequired)
	if n.httpsLn != nil {
		n.httpsSrv = n.serveHTTP("HTTPS", n.httpsLn, api, false)
	}
	n.startLookupd(n.tcp.Addr(), ln.Addr())
	n.startStatsd(ln.Addr())
	return nil
}

func (n *NSQD) httpOptions(ln net.Listener) httpapi.Options {
	o := n.opts
	hostname, _ := os.Hostname()
	return httpapi.Options{
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
		NoPeek:                 !o.AllowPeek,
		GetConfig:              n.getConfig,
		SetConfig:              n.setConfig,
		Logf:                   n.engineLogf,
	}
}

// serveHTTP serves h on ln in the background. With tlsRequired (plain
// HTTP under --tls-required=true) every request gets upstream's 403.
func (n *NSQD) serveHTTP(name string, ln net.Listener, h http.Handler, tlsRequired bool) *http.Server {
	if tlsRequired {
		h = http.HandlerFunc(n.tlsRequiredHandler)
	}
	srv := &http.Server{
		Handler:  h,
		ErrorLog: log.New(io.Discard, "", 0),
		// Requests see Exit: a long one (a CPU or wall-clock profile, a
		// trace) returns early instead of holding up the stop.
		BaseContext: func(net.Listener) context.Context { return n.exitCtx },
	}
	n.opts.HTTPLimits.Apply(srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.logf(LogError, "%s: %s", name, err)
		}
	}()
	return srv
}

func (n *NSQD) tlsRequiredHandler(w http.ResponseWriter, _ *http.Request) {
	port := 0
	if n.httpsLn != nil {
		port = portOf(n.httpsLn.Addr())
	}
	w.Header().Set("X-NSQ-Content-Type", "nsq; version=1.0")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `{"message": "TLS_REQUIRED", "https_port": %d}`, port)
}

// HTTPSAddr is the bound HTTPS address, or nil when HTTPS is off.
func (n *NSQD) HTTPSAddr() net.Addr {
	if n.httpsLn == nil {
		return nil
	}
	return n.httpsLn.Addr()
}

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
	if v, ok := n.broadcastPortConfig(opt); ok {
		return v, true
	}
	n.mu.Lock()
	switch opt {
	case "nsqlookupd_tcp_addresses":
		n.mu.Unlock()
		return n.lookupd.Addresses(), true
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
		return n.setLookupdAddresses(body)
	}
	return errors.New("unknown option")
}

// Exit stops listening, disconnects every client, checkpoints every
// channel and closes the data path.
func (n *NSQD) Exit() {
	n.exitOnce.Do(func() {
		// nsqlookupd forget this nsqd first, so consumers stop finding it.
		n.lookupd.Close()
		n.stopStatsd()
		n.exitCancel()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if n.httpSrv != nil {
			_ = n.httpSrv.Shutdown(ctx)
		}
		if n.httpsSrv != nil {
			_ = n.httpsSrv.Shutdown(ctx)
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

// buildTLSConfig is upstream's: a certificate and key enable TLS; the
// client auth policy "require" asks for any client certificate,
// "require-verify" for one signed by --tls-root-ca-file.
func buildTLSConfig(o *Options) (*tls.Config, error) {
	if o.TLSCert == "" && o.TLSKey == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
	if err != nil {
		return nil, err
	}
	auth := tls.NoClientCert
	switch o.TLSClientAuthPolicy {
	case "require":
		auth = tls.RequireAnyClientCert
	case "require-verify":
		auth = tls.RequireAndVerifyClientCert
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   auth,
		MinVersion:   uint16(o.TLSMinVersion),
	}
	if o.TLSRootCAFile != "" {
		pool, err := loadCertPool(o.TLSRootCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
	}
	return cfg, nil
}

// buildClientTLSConfig is for nsqd's own HTTPS requests (auth servers).
func buildClientTLSConfig(o *Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: uint16(o.TLSMinVersion)}
	if o.TLSRootCAFile != "" {
		pool, err := loadCertPool(o.TLSRootCAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func loadCertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("failed to append certificate to pool")
	}
	return pool, nil
}
