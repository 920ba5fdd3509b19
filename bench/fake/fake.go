// Package fake is a tiny in-process V2 broker for measuring and testing the
// load generators: a no-op sink that acknowledges everything and feeds
// subscribers generated messages as fast as their RDY allows (the client's
// own ceiling, without a broker's work), and a router that delivers each
// published message to its topic's channels a fixed delay after it was
// received (a known latency to check the latency tool against).
//
// It speaks just enough of the protocol for bench/scenario: IDENTIFY (with
// and without feature negotiation), PUB, MPUB, DPUB, SUB, RDY, FIN, REQ,
// TOUCH, NOP and CLS. It keeps nothing durable, tracks no timeouts, and is
// not NSQ.
package fake

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/wire"
)

// Options configures a Server.
type Options struct {
	// Generate, if positive, makes the server a sink: published messages
	// are acknowledged and dropped, and every subscriber receives an
	// endless stream of generated messages of this many bytes, stamped
	// with bench.Now() when they are written.
	Generate int
	// Delay is how long after a PUB is read each of its topic's channels
	// delivers the message (when Generate is 0). Messages published to a
	// topic without channels are dropped.
	Delay time.Duration
}

// Server is a running fake broker. Its methods are safe for concurrent use.
type Server struct {
	o  Options
	ln net.Listener

	mu     sync.Mutex
	topics map[string]map[string]*channel // topic -> channel name -> channel
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	// Published counts messages received by PUB, MPUB and DPUB.
	Published atomic.Int64
}

// channel holds the messages routed to one channel, in arrival order.
type channel struct {
	q chan delivery
}

type delivery struct {
	at   int64 // bench.Now() when it is due
	body []byte
}

// Start listens on 127.0.0.1 (a free port) and serves until Close.
func Start(o Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, ln: ln, topics: make(map[string]map[string]*channel), conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the TCP address clients dial.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener and every connection and waits for their
// goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c := &conn{s: s, nc: nc, wake: make(chan struct{}, 1), done: make(chan struct{})}
			c.serve()
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
		}()
	}
}

// channelFor returns the named channel, creating it.
func (s *Server) channelFor(topic, name string) *channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	chs := s.topics[topic]
	if chs == nil {
		chs = make(map[string]*channel)
		s.topics[topic] = chs
	}
	ch := chs[name]
	if ch == nil {
		ch = &channel{q: make(chan delivery, 1<<16)}
		chs[name] = ch
	}
	return ch
}

// route queues a copy of body on each of topic's channels, due at.
func (s *Server) route(topic []byte, body []byte, at int64) {
	s.Published.Add(1)
	if s.o.Generate > 0 {
		return
	}
	s.mu.Lock()
	chs := s.topics[string(topic)]
	targets := make([]*channel, 0, len(chs))
	for _, ch := range chs {
		targets = append(targets, ch)
	}
	s.mu.Unlock()
	for _, ch := range targets {
		ch.q <- delivery{at: at, body: append([]byte(nil), body...)}
	}
}

// conn is one client connection: its reader runs serve; a subscriber also
// has a delivery goroutine. Output from both goes through outMu.
type conn struct {
	s  *Server
	nc net.Conn

	outMu sync.Mutex
	out   []byte

	rdy      atomic.Int64
	inFlight atomic.Int64
	wake     chan struct{} // RDY or FIN happened
	done     chan struct{} // the reader has ended
	nextID   uint64        // owned by the delivery goroutine
}

func (c *conn) write(f func(dst []byte) []byte) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	c.out = f(c.out)
	return nil
}

func (c *conn) flush() error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.out)
	c.out = c.out[:0]
	return err
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) serve() {
	defer c.nc.Close()
	defer close(c.done)
	var magic [4]byte
	if _, err := io.ReadFull(c.nc, magic[:]); err != nil || string(magic[:]) != wire.MagicV2 {
		return
	}
	buf := make([]byte, 64<<10)
	r, w := 0, 0
	var cmd wire.Command
	for {
		for r < w {
			n, perr := wire.ParseCommand(buf[r:w], nil, &cmd)
			if perr != nil {
				_ = c.write(func(b []byte) []byte { return wire.AppendErrorFrame(b, perr) })
				_ = c.flush()
				return
			}
			if n == 0 {
				break
			}
			r += n
			if !c.handle(&cmd) {
				_ = c.flush()
				return
			}
		}
		if err := c.flush(); err != nil {
			return
		}
		if r > 0 {
			w = copy(buf, buf[r:w])
			r = 0
		}
		if w == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
		n, err := c.nc.Read(buf[w:])
		w += n
		if err != nil && n == 0 {
			return
		}
	}
}

// handle runs one command; false closes the connection.
func (c *conn) handle(cmd *wire.Command) bool {
	ok := func(b []byte) []byte { return wire.AppendOK(b) }
	if (cmd.Kind == wire.CmdPub || cmd.Kind == wire.CmdDPub || cmd.Kind == wire.CmdMPub) && len(cmd.Params) == 0 {
		_ = c.write(func(b []byte) []byte {
			return wire.AppendErrorFrame(b, wire.NewFatalError(wire.CodeInvalid, "missing topic"))
		})
		return false
	}
	switch cmd.Kind {
	case wire.CmdIdentify:
		req, werr := wire.ParseIdentify(cmd.Body)
		if werr != nil {
			_ = c.write(func(b []byte) []byte { return wire.AppendErrorFrame(b, werr) })
			return false
		}
		if req.FeatureNegotiation {
			_ = c.write(func(b []byte) []byte {
				return wire.AppendResponse(b, []byte(`{"max_rdy_count":2500,"version":"fake","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":0,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250}`))
			})
		} else {
			_ = c.write(ok)
		}
	case wire.CmdPub:
		c.s.route(cmd.Params[0], cmd.Body, bench.Now()+int64(c.s.o.Delay))
		_ = c.write(ok)
	case wire.CmdDPub:
		c.s.route(cmd.Params[0], cmd.Body, bench.Now()+int64(c.s.o.Delay+cmd.Defer))
		_ = c.write(ok)
	case wire.CmdMPub:
		at := bench.Now() + int64(c.s.o.Delay)
		cmd.EachMessage(func(body []byte) { c.s.route(cmd.Params[0], body, at) })
		_ = c.write(ok)
	case wire.CmdSub:
		topic, name, werr := wire.ParseSUB(cmd.Params)
		if werr != nil {
			_ = c.write(func(b []byte) []byte { return wire.AppendErrorFrame(b, werr) })
			return false
		}
		ch := c.s.channelFor(string(topic), string(name))
		_ = c.write(ok)
		c.s.wg.Add(1)
		go func() {
			defer c.s.wg.Done()
			c.deliver(ch)
		}()
	case wire.CmdRdy:
		n, _ := wire.ParseRDY(cmd.Params)
		c.rdy.Store(n)
		c.signal()
	case wire.CmdFin, wire.CmdReq:
		c.inFlight.Add(-1)
		c.signal()
	case wire.CmdTouch, wire.CmdNop:
	case wire.CmdCls:
		_ = c.write(func(b []byte) []byte { return wire.AppendCloseWait(b) })
	default:
		_ = c.write(func(b []byte) []byte {
			return wire.AppendErrorFrame(b, wire.NewFatalError(wire.CodeInvalid, "invalid command "+string(cmd.Name)))
		})
		return false
	}
	return true
}

// waitReady blocks until a message may be sent; false once the connection
// is gone.
func (c *conn) waitReady() bool {
	for c.inFlight.Load() >= c.rdy.Load() {
		select {
		case <-c.wake:
		case <-c.done:
			return false
		}
	}
	return true
}

// deliver sends a subscriber its messages: generated ones, or those routed
// to its channel once due.
func (c *conn) deliver(ch *channel) {
	if size := c.s.o.Generate; size > 0 {
		c.generate(size)
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// Output is flushed whenever the goroutine is about to wait (for a
	// message, its due time or a RDY slot), so nothing sits in the buffer.
	for {
		if c.inFlight.Load() >= c.rdy.Load() {
			if c.flush() != nil || !c.waitReady() {
				return
			}
		}
		var d delivery
		select {
		case d = <-ch.q:
		default:
			if c.flush() != nil {
				return
			}
			select {
			case d = <-ch.q:
			case <-c.done:
				return
			}
		}
		if wait := d.at - bench.Now(); wait > 0 {
			if c.flush() != nil {
				return
			}
			timer.Reset(time.Duration(wait))
			select {
			case <-timer.C:
			case <-c.done:
				return
			}
		}
		c.inFlight.Add(1)
		c.nextID++
		_ = c.write(func(b []byte) []byte {
			return wire.AppendMessage(b, wire.IDFromUint64(c.nextID), time.Now().UnixNano(), 1, d.body)
		})
	}
}

// generate writes messages as fast as RDY allows, up to 64 a write.
func (c *conn) generate(size int) {
	body := bench.NewBody(size)
	var seq uint64
	for c.waitReady() {
		n := min(c.rdy.Load()-c.inFlight.Load(), 64)
		c.inFlight.Add(n)
		now := bench.Now()
		c.outMu.Lock()
		for range n {
			bench.Stamp(body, now, seq)
			seq++
			c.nextID++
			c.out = wire.AppendMessage(c.out, wire.IDFromUint64(c.nextID), 0, 1, body)
		}
		c.outMu.Unlock()
		if c.flush() != nil {
			return
		}
	}
}
