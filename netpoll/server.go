// Package netpoll is nsqd's TCP front end: a gnet event handler that runs
// the V2 protocol for every connection on gnet's event loops.
//
// # Goroutines and ownership
//
// Each connection belongs to one gnet event loop. Everything the protocol
// state machine holds (parser scratch, state, identity, subscription) is
// touched only on that loop, inside OnTraffic. Output is the exception:
// the engine delivers messages from whichever goroutine made them available
// (a publisher's loop, a FIN on another loop, the timer goroutine), so a
// client's pending output sits in Client.out behind Client.outMu. Whoever
// appends there calls Flush, which wakes the owning loop (gnet Conn.Wake)
// unless a wake is already pending or the loop is processing that client
// right now; the loop writes everything pending once per turn. Under load
// a consumer's message frames may gather first, within its negotiated
// output buffer size and timeout, and its pending output is bounded
// (output.go). Lock order: engine channel lock -> Client.outMu -> a
// flusher shard.
//
// Heartbeats run on one goroutine per server (heartbeatLoop), which every
// 100ms sends _heartbeat_ to each client whose interval has passed, or
// closes a client that has sent nothing for two heartbeat intervals.
//
// The event loop never blocks: no disk I/O (the engine appends to mapped
// memory and syncs elsewhere), no sleeps, no network calls. A publish whose
// OK must wait for its topic's sync (--sync-every) parks its connection, as
// a pending AUTH does; the topic's committer goroutine wakes the loop.
package netpoll

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// Options configures the TCP server. Zero values mean upstream's defaults.
type Options struct {
	// Address is host:port, or a filesystem path for a unix socket.
	Address string
	// Version is reported in IDENTIFY responses.
	Version string

	ClientTimeout          time.Duration // default 60s; heartbeat default is half
	MaxHeartbeatInterval   time.Duration // default 60s
	MaxRdyCount            int64         // default 2500
	MaxOutputBufferSize    int64         // default 64 KiB
	MaxOutputBufferTimeout time.Duration // default 30s
	MinOutputBufferTimeout time.Duration // default 25ms
	OutputBufferTimeout    time.Duration // default 250ms
	MaxMsgSize             int64         // default 1 MiB
	MaxBodySize            int64         // default 5 MiB
	MsgTimeout             time.Duration // default 60s
	MaxMsgTimeout          time.Duration // default 15m
	MaxReqTimeout          time.Duration // default 1h
	MaxDeflateLevel        int           // default 6
	// EventLoops is the number of gnet loops; 0 = one per CPU.
	EventLoops int
	// MaxConnsPerIP (ours, --max-conns-per-ip) is the most connections
	// one remote IP address may hold open at once; a connection beyond it
	// is closed as soon as it is accepted, before it is read. 0 (the
	// default, as upstream) is no limit. Unix sockets are not limited.
	MaxConnsPerIP int

	// TLSConfig enables IDENTIFY tls_v1 (nil: TLS is not offered).
	TLSConfig *tls.Config
	// TLSRequired refuses every command but IDENTIFY before TLS.
	TLSRequired bool
	// SnappyEnabled and DeflateEnabled offer compression (--snappy, --deflate).
	SnappyEnabled, DeflateEnabled bool

	// AuthHTTPAddresses enables AUTH (--auth-http-address): host:port or
	// full URLs of auth servers, tried in turn from a random one.
	AuthHTTPAddresses []string
	// HTTPClientConnectTimeout and HTTPClientRequestTimeout bound queries
	// to the auth servers (defaults 2s and 5s).
	HTTPClientConnectTimeout, HTTPClientRequestTimeout time.Duration
	// AuthClientTLSConfig is used for https auth servers (root CAs).
	AuthClientTLSConfig *tls.Config

	Logf func(level engine.LogLevel, format string, args ...any)
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.ClientTimeout, 60*time.Second)
	def(&o.MaxHeartbeatInterval, 60*time.Second)
	def(&o.MaxOutputBufferTimeout, 30*time.Second)
	def(&o.MinOutputBufferTimeout, 25*time.Millisecond)
	def(&o.OutputBufferTimeout, 250*time.Millisecond)
	def(&o.MsgTimeout, 60*time.Second)
	def(&o.MaxMsgTimeout, 15*time.Minute)
	def(&o.MaxReqTimeout, time.Hour)
	def(&o.HTTPClientConnectTimeout, 2*time.Second)
	def(&o.HTTPClientRequestTimeout, 5*time.Second)
	if o.MaxRdyCount == 0 {
		o.MaxRdyCount = 2500
	}
	if o.MaxOutputBufferSize == 0 {
		o.MaxOutputBufferSize = 64 << 10
	}
	if o.MaxMsgSize == 0 {
		o.MaxMsgSize = 1 << 20
	}
	if o.MaxBodySize == 0 {
		o.MaxBodySize = 5 << 20
	}
	if o.MaxDeflateLevel == 0 {
		o.MaxDeflateLevel = 6
	}
	if o.Version == "" {
		o.Version = "1.3.0"
	}
}

// Server is the V2 TCP server. Its methods are safe for concurrent use.
type Server struct {
	gnet.BuiltinEventEngine

	opts   Options
	eng    *engine.Engine
	limits wire.Limits

	gengine  gnet.Engine
	addr     net.Addr
	booted   chan struct{}
	runErr   chan error
	stopping atomic.Bool
	hbStop   chan struct{}

	nextID atomic.Int64

	// out gathers consumers' output and watches stalled ones (output.go)
	out outFlusher

	authClientOnce sync.Once
	authClient     *http.Client

	perIP *ipLimiter // nil without MaxConnsPerIP

	// clients is sharded so connects and disconnects on different loops do
	// not contend; it is not touched on the publish or delivery path.
	shards [16]struct {
		sync.Mutex
		m map[int64]*Client
	}
}

// New returns a server over eng; call Start.
func New(opts Options, eng *engine.Engine) *Server {
	opts.setDefaults()
	s := &Server{
		opts:   opts,
		eng:    eng,
		booted: make(chan struct{}),
		runErr: make(chan error, 1),
		hbStop: make(chan struct{}),
		limits: wire.Limits{MaxMsgSize: opts.MaxMsgSize, MaxBodySize: opts.MaxBodySize, MaxReqTimeout: opts.MaxReqTimeout},
	}
	for i := range s.shards {
		s.shards[i].m = map[int64]*Client{}
	}
	s.out.init()
	if opts.MaxConnsPerIP > 0 {
		s.perIP = newIPLimiter(opts.MaxConnsPerIP)
	}
	return s
}

func (s *Server) logf(level engine.LogLevel, format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(level, format, args...)
	}
}

// Start listens and serves in the background; it returns once the listener
// is up (or failed).
func (s *Server) Start() error {
	proto := "tcp://"
	addr := s.opts.Address
	if strings.Contains(addr, "/") {
		proto = "unix://"
	}
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReusePort(false),
		gnet.WithReuseAddr(true), // restart on a port with TIME_WAIT connections, as net.Listen does
		gnet.WithLogger(gnetLogger{s}),
	}
	if s.opts.EventLoops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(s.opts.EventLoops))
	}
	go func() {
		err := gnet.Run(s, proto+addr, opts...)
		s.runErr <- err
	}()
	select {
	case <-s.booted:
		go s.heartbeatLoop()
		go s.out.run(s.hbStop)
		return nil
	case err := <-s.runErr:
		if err == nil {
			err = errors.New("stopped before start")
		}
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
}

// Addr is the address the server listens on (with the real port when the
// configured one was 0).
func (s *Server) Addr() net.Addr { return s.addr }

// OnBoot records the engine handle and the bound address.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.gengine = eng
	s.addr = boundAddr(eng, s.opts.Address)
	close(s.booted)
	return gnet.None
}

func boundAddr(eng gnet.Engine, configured string) net.Addr {
	if strings.Contains(configured, "/") {
		return &net.UnixAddr{Name: configured, Net: "unix"}
	}
	fd, err := eng.Dup()
	if err != nil {
		a, _ := net.ResolveTCPAddr("tcp", configured)
		return a
	}
	defer syscall.Close(fd)
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		a, _ := net.ResolveTCPAddr("tcp", configured)
		return a
	}
	switch v := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(v.Addr[:]).To16(), Port: v.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(v.Addr[:]), Port: v.Port}
	}
	a, _ := net.ResolveTCPAddr("tcp", configured)
	return a
}

// Stop closes the listener and every connection.
func (s *Server) Stop(ctx context.Context) error {
	if !s.stopping.CompareAndSwap(false, true) {
		return nil
	}
	select {
	case <-s.booted:
	default:
		return nil
	}
	close(s.hbStop)
	for _, c := range s.Clients() {
		c.closeConn()
	}
	// gnet's Stop polls for the end of the shutdown every 500ms; Run
	// returning is the same event, without the wait (stop took 0.5s).
	stopped := make(chan error, 1)
	go func() { stopped <- s.gengine.Stop(ctx) }()
	select {
	case <-s.runErr:
		return nil
	case err := <-stopped:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) shard(id int64) *struct {
	sync.Mutex
	m map[int64]*Client
} {
	return &s.shards[id&int64(len(s.shards)-1)]
}

// heartbeatTick is the resolution of heartbeats and of the read and write
// timeouts. One goroutine checks every client each tick instead of one Go
// timer per client: a timer was ~300 of the ~2700 heap bytes an idle
// subscribed connection cost. Checking 10,000 clients takes well under a
// millisecond.
const heartbeatTick = 100 * time.Millisecond

func (s *Server) heartbeatLoop() {
	tk := time.NewTicker(heartbeatTick)
	defer tk.Stop()
	var batch []*Client
	for {
		select {
		case <-s.hbStop:
			return
		case t := <-tk.C:
			now := t.UnixNano()
			for i := range s.shards {
				sh := &s.shards[i]
				sh.Lock()
				for _, c := range sh.m {
					if n := c.nextBeat.Load(); n != 0 && now >= n {
						batch = append(batch, c)
					}
				}
				sh.Unlock()
				for j, c := range batch {
					c.heartbeat(now)
					batch[j] = nil
				}
				batch = batch[:0]
			}
		}
	}
}

func (s *Server) forget(c *Client) {
	sh := s.shard(c.id)
	sh.Lock()
	delete(sh.m, c.id)
	sh.Unlock()
	if s.perIP != nil {
		s.perIP.release(ipOf(c.remoteAddr))
	}
}

// Clients returns every connected client.
func (s *Server) Clients() []*Client {
	var out []*Client
	for i := range s.shards {
		sh := &s.shards[i]
		sh.Lock()
		for _, c := range sh.m {
			out = append(out, c)
		}
		sh.Unlock()
	}
	return out
}

// OnOpen creates the connection's client state.
func (s *Server) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	if s.stopping.Load() {
		return nil, gnet.Close
	}
	if s.perIP != nil && gc.RemoteAddr() != nil {
		ra := gc.RemoteAddr().String()
		if !s.perIP.acquire(ipOf(ra)) {
			s.logf(engine.LogWarn, "TCP: client(%s) refused: --max-conns-per-ip=%d reached", ra, s.opts.MaxConnsPerIP)
			return nil, gnet.Close
		}
	}
	c := newClient(s, gc)
	gc.SetContext(c)
	sh := s.shard(c.id)
	sh.Lock()
	sh.m[c.id] = c
	sh.Unlock()
	s.logf(engine.LogInfo, "TCP: new client(%s)", c.remoteAddr)
	return nil, gnet.None
}

// OnClose releases the client's subscription and timers.
func (s *Server) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, _ := gc.Context().(*Client)
	if c == nil {
		return gnet.None
	}
	if c.handedOff {
		return gnet.None // goroutines serve it now; they clean up
	}
	if err != nil || c.readTimedOut.Load() {
		// The input ended (EOF after the peer's shutdown or close, a read
		// error, the read timeout): answer a command it cut short, as
		// upstream does.
		buf, _ := gc.Peek(-1)
		c.inputEnded(buf)
		if c.handedOff {
			return gnet.None // a goroutine finishes it (see inputEnded)
		}
	}
	c.onClosed()
	s.forget(c)
	if err != nil {
		s.logf(engine.LogInfo, "PROTOCOL(V2): [%s] exiting ioloop: %s", c.remoteAddr, err)
	} else {
		s.logf(engine.LogInfo, "PROTOCOL(V2): [%s] exiting ioloop", c.remoteAddr)
	}
	return gnet.None
}

// OnTraffic parses and runs every complete command buffered for the
// connection, then writes all pending output in one go.
func (s *Server) OnTraffic(gc gnet.Conn) gnet.Action {
	c, _ := gc.Context().(*Client)
	if c == nil {
		return gnet.Close
	}
	return c.onTraffic()
}

// gnetLogger routes gnet's own log lines into ours: its errors as errors,
// the rest at debug level.
type gnetLogger struct{ s *Server }

func (l gnetLogger) Debugf(format string, args ...any) { l.s.logf(engine.LogDebug, format, args...) }
func (l gnetLogger) Infof(format string, args ...any)  { l.s.logf(engine.LogDebug, format, args...) }
func (l gnetLogger) Warnf(format string, args ...any)  { l.s.logf(engine.LogWarn, format, args...) }
func (l gnetLogger) Errorf(format string, args ...any) { l.s.logf(engine.LogError, format, args...) }
func (l gnetLogger) Fatalf(format string, args ...any) { l.s.logf(engine.LogFatal, format, args...) }
