package netpoll

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/snappy"
	"github.com/panjf2000/gnet/v2"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// Connections that negotiate TLS, snappy or deflate leave the event loop.
//
// gnet has no TLS, and NSQ switches a connection to TLS or a compressed
// stream in the middle (right after the IDENTIFY response), so such a
// connection is handed to two goroutines: the event loop duplicates the
// socket (Conn.Dup), gives the copy and every byte it had buffered after
// the IDENTIFY to a reader goroutine, and closes its own descriptor. The
// reader writes what was pending (the IDENTIFY response, in plain text),
// performs the upgrades in upstream's order (TLS handshake, then snappy,
// then deflate, answering OK after each), and from then on runs the same
// protocol state machine (Client.process) on what it reads; a writer
// goroutine writes the client's output whenever Flush kicks it. The
// engine sees no difference: it calls the same Client methods.
//
// A connection whose input ends while an auth server is being asked (see
// Client.inputEnded) leaves the event loop the same way, with nothing to
// upgrade: its reader waits for the answer, runs the commands received,
// then meets the end of the input.
//
// Ordering at the switch: the loop stops parsing right after the IDENTIFY
// that negotiated the upgrade, so every later byte goes through the
// reader, after the upgrade, in order; output pending at the switch is
// written before the first upgrade step, and output produced afterwards
// (a heartbeat, say) only after the last one.

// upgradeReq is what an IDENTIFY negotiated.
type upgradeReq struct {
	tls, snappy, deflate bool
	level                int
}

// upgraded is a connection served by goroutines.
type upgraded struct {
	wake   chan struct{} // kicks the writer; capacity 1
	done   chan struct{} // closed when the reader has finished
	synced chan struct{} // the sync a parked publish waits for is done; capacity 1

	writing bool // the writer goroutine runs (reader-owned)

	mu      sync.Mutex
	nc      net.Conn // the duplicated socket; nil until the reader has it
	closing bool     // close once the pending output is written
	closed  bool
}

func (u *upgraded) kick() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// syncKick wakes a reader parked on a publish's sync (see waitParked).
func (u *upgraded) syncKick() {
	select {
	case u.synced <- struct{}{}:
	default:
	}
}

// close closes the socket now, or as soon as the reader has it.
func (u *upgraded) close() {
	u.mu.Lock()
	u.closed = true
	nc := u.nc
	u.mu.Unlock()
	if nc != nil {
		_ = nc.Close()
	}
}

// expireRead ends the reader's input as upstream's read deadline would:
// its reader answers a command cut short and closes. Before the reader has
// the socket, it just closes.
func (u *upgraded) expireRead() {
	u.mu.Lock()
	nc := u.nc
	if nc == nil {
		u.closed = true
	}
	u.mu.Unlock()
	if nc != nil {
		_ = nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// closeAfterWrite asks the writer to write what is pending, then close.
func (u *upgraded) closeAfterWrite() {
	u.mu.Lock()
	u.closing = true
	u.mu.Unlock()
	u.kick()
}

// handOff moves the connection off the event loop (event loop only): to
// perform the upgrades req asks for, or none.
func (c *Client) handOff(req *upgradeReq, carry []byte) gnet.Action {
	if c.conn.OutboundBuffered() > 0 {
		_ = c.conn.Flush()
	}
	if c.conn.OutboundBuffered() > 0 {
		// Earlier output is still queued in gnet; it would be written
		// after the upgrade began. Only a client that pipelined far
		// ahead without reading can get here.
		c.srv.logf(engine.LogError, "PROTOCOL(V2): [%s] cannot leave the event loop with unsent output", c.remoteAddr)
		return gnet.Close
	}
	fd, err := c.conn.Dup()
	if err != nil {
		c.srv.logf(engine.LogError, "PROTOCOL(V2): [%s] upgrade: dup: %s", c.remoteAddr, err)
		return gnet.Close
	}
	var plain []byte
	if bb := c.takeOut(); bb != nil {
		plain = append(plain, bb.B...)
		outPool.Put(bb)
		c.o.queued.Store(0) // the reader writes it before anything else
	}
	u := &upgraded{wake: make(chan struct{}, 1), done: make(chan struct{}), synced: make(chan struct{}, 1)}
	c.handedOff = true
	c.up.Store(u)
	go c.serveUpgraded(u, fd, req, plain, carry)
	return gnet.Close // closes the loop's descriptor; the duplicate lives on
}

// prefixConn reads the bytes the event loop had buffered before the socket.
type prefixConn struct {
	net.Conn
	carry []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.carry) > 0 {
		n := copy(b, p.carry)
		p.carry = p.carry[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// flushWriter is the write side of the stream stack.
type flushWriter interface {
	io.Writer
	Flush() error
}

type plainWriter struct{ io.Writer }

func (plainWriter) Flush() error { return nil }

// serveUpgraded is the reader goroutine of an upgraded connection.
func (c *Client) serveUpgraded(u *upgraded, fd int, req *upgradeReq, plain, carry []byte) {
	defer c.finishUpgraded(u)
	f := os.NewFile(uintptr(fd), "client")
	nc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		c.srv.logf(engine.LogError, "PROTOCOL(V2): [%s] upgrade: %s", c.remoteAddr, err)
		return
	}
	u.mu.Lock()
	u.nc = nc
	closed := u.closed
	u.mu.Unlock()
	if closed {
		_ = nc.Close()
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	_ = nc.SetDeadline(deadline)
	if len(plain) > 0 {
		if _, err := nc.Write(plain); err != nil {
			_ = nc.Close()
			return
		}
	}
	var conn net.Conn = &prefixConn{Conn: nc, carry: carry}
	var r io.Reader = conn
	var w flushWriter = plainWriter{conn}
	okFrame := wire.AppendOK(nil)
	sendOK := func() error {
		if _, err := w.Write(okFrame); err != nil {
			return err
		}
		return w.Flush()
	}
	fail := func(step string, err error) {
		c.srv.logf(engine.LogError, "PROTOCOL(V2): [%s] upgrade to %s failed: %s", c.remoteAddr, step, err)
		_ = nc.Close()
	}
	if req.tls {
		c.srv.logf(engine.LogInfo, "PROTOCOL(V2): [%s] upgrading connection to TLS", c.remoteAddr)
		tc := tls.Server(conn, c.srv.opts.TLSConfig)
		if err := tc.Handshake(); err != nil {
			fail("TLS", err)
			return
		}
		st := tc.ConnectionState()
		c.info.Lock()
		c.info.tls = &st
		c.info.Unlock()
		c.tlsOn = true
		conn, r, w = tc, tc, plainWriter{tc}
		if err := sendOK(); err != nil {
			fail("TLS", err)
			return
		}
	}
	if req.snappy {
		c.srv.logf(engine.LogInfo, "PROTOCOL(V2): [%s] upgrading connection to snappy", c.remoteAddr)
		r = snappy.NewReader(conn)
		w = snappy.NewBufferedWriter(conn)
		c.info.Lock()
		c.info.snappy = true
		c.info.Unlock()
		if err := sendOK(); err != nil {
			fail("snappy", err)
			return
		}
	}
	if req.deflate {
		c.srv.logf(engine.LogInfo, "PROTOCOL(V2): [%s] upgrading connection to deflate (level %d)", c.remoteAddr, req.level)
		r = flate.NewReader(conn)
		fw, err := flate.NewWriter(conn, req.level)
		if err != nil {
			fail("deflate", err)
			return
		}
		w = fw
		c.info.Lock()
		c.info.deflate = true
		c.info.Unlock()
		if err := sendOK(); err != nil {
			fail("deflate", err)
			return
		}
	}
	_ = nc.SetDeadline(time.Time{})
	u.writing = true
	go c.writeLoop(u, nc, w)
	c.readLoop(u, r)
}

// readLoop feeds what the client sends to the protocol state machine.
func (c *Client) readLoop(u *upgraded, r io.Reader) {
	buf := make([]byte, 0, 16<<10)
	// run processes what buf holds; false once the connection is done.
	run := func() bool {
		c.inTraffic.Store(true)
		used, act := c.process(buf)
		c.inTraffic.Store(false)
		buf = buf[:copy(buf, buf[used:])]
		if used > 0 {
			c.lastRead.Store(time.Now().UnixNano()) // see onTraffic
		}
		if act == actClose {
			c.notifyTopics()
			u.closeAfterWrite()
			return false
		}
		u.kick() // the writer sends the answers
		c.notifyTopics()
		return true
	}
	for {
		// A connection handed off while it waited (an auth query, a
		// topic's sync) reads nothing more until the wait is over: the
		// socket's buffers then hold the client back, as upstream.
		// (Answers owed may be ready already: the sync can finish
		// before the hand-off; waitParked then returns at once.)
		for c.auth.pending || c.ack.pending {
			c.waitParked(u)
			if !run() {
				return
			}
		}
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 && !run() {
			return
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return // closed here (heartbeat timeout, Disconnect, Stop)
			}
			if !errors.Is(err, io.EOF) {
				c.srv.logf(engine.LogInfo, "PROTOCOL(V2): [%s] read: %s", c.remoteAddr, err)
			}
			// The input ended (EOF, io.ErrUnexpectedEOF in the middle of
			// a TLS record or compressed block, a read error): answer a
			// command it cut short, as upstream does, then close.
			if e := c.cutShort(buf); e != nil {
				c.sendError(e)
				u.closeAfterWrite()
			}
			return
		}
	}
}

// waitParked blocks until what the connection waits for is done: the
// auth server's answer (asked on the event loop before the hand-off), or
// the sync of the topic a publish's OK waits for.
func (c *Client) waitParked(u *upgraded) {
	if c.auth.pending {
		<-c.auth.ready
		return
	}
	if c.ack.pending && !c.syncDone.Load() {
		select {
		case <-u.synced:
		case <-u.done:
		}
	}
}

// writeLoop writes the client's output whenever it is kicked.
func (c *Client) writeLoop(u *upgraded, nc net.Conn, w flushWriter) {
	for {
		stop := false
		select {
		case <-u.wake:
		case <-u.done:
			stop = true // the reader is gone: write what is left, close
		}
		if !c.writeOut(nc, w) {
			_ = nc.Close()
			return
		}
		u.mu.Lock()
		closing := u.closing
		u.mu.Unlock()
		if closing || stop {
			// What the reader appended before it asked for the close
			// (an error for a command cut short) may have come after
			// the take above: write it too.
			_ = c.writeOut(nc, w)
			_ = nc.Close()
			return
		}
	}
}

// writeOut writes the client's pending output, under upstream's write
// deadline; false when the write failed.
func (c *Client) writeOut(nc net.Conn, w flushWriter) bool {
	bb := c.takeOut()
	if bb == nil {
		c.resumeIfDrained(c.now())
		return true
	}
	defer func() {
		outPool.Put(bb)
		c.o.queued.Store(0)
		c.resumeIfDrained(c.now())
	}()
	if len(bb.B) == 0 {
		return true
	}
	if hb := time.Duration(c.hbInterval.Load()); hb > 0 {
		// upstream's write deadline: one heartbeat interval
		_ = nc.SetWriteDeadline(time.Now().Add(hb))
	}
	_, err := w.Write(bb.B)
	if err == nil {
		err = w.Flush()
	}
	return err == nil
}

// finishUpgraded releases the client when its reader ends.
func (c *Client) finishUpgraded(u *upgraded) {
	close(u.done) // the writer writes what is pending and closes
	if !u.writing {
		u.close()
	}
	c.onClosed()
	c.srv.forget(c)
	c.srv.logf(engine.LogInfo, "PROTOCOL(V2): [%s] exiting ioloop", c.remoteAddr)
}
