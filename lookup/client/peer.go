package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire/lookupdoc"
	"github.com/nsqfast/nsq/wire/lookupv1"
)

// maxQueue bounds a peer's queue of changes. Beyond it the peer drops the
// queue and reconnects, which registers a fresh snapshot: cheaper than
// holding an unbounded backlog, and exact, since the nsqlookupd forgets
// the old connection's registrations.
const maxQueue = 16 * 1024

// pipelineDepth is how many commands go out before their answers are
// read: enough to register thousands of topics in a few round trips, few
// enough that the answers fit the reader's channel.
const pipelineDepth = 128

// command is one REGISTER or UNREGISTER.
type command struct {
	register bool
	topic    string
	channel  string
}

func (c command) append(dst []byte) []byte {
	if c.register {
		return lookupv1.AppendRegister(dst, c.topic, c.channel)
	}
	return lookupv1.AppendUnregister(dst, c.topic, c.channel)
}

func (c command) String() string {
	verb := "UNREGISTER"
	if c.register {
		verb = "REGISTER"
	}
	if c.channel == "" {
		return verb + " " + c.topic
	}
	return verb + " " + c.topic + " " + c.channel
}

// peer is one nsqlookupd. Its goroutine (run) owns the connection; mu
// guards what Changed and Client share with it.
type peer struct {
	c    *Client
	addr string
	wake chan struct{} // capacity 1: queued changes or a stop
	// ctx is canceled by stop: it ends run and interrupts a dial or a
	// wait for an answer, so that a dead nsqlookupd never delays Close.
	ctx    context.Context
	cancel context.CancelFunc

	mu struct {
		sync.Mutex
		queue    []command
		queueing bool // connected and past the snapshot point
		overflow bool
		httpAddr string // from the last IDENTIFY answer
	}
}

func newPeer(c *Client, addr string) *peer {
	parent := c.ctx
	if parent == nil {
		parent = context.Background()
	}
	p := &peer{c: c, addr: addr, wake: make(chan struct{}, 1)}
	p.ctx, p.cancel = context.WithCancel(parent)
	return p
}

func (p *peer) String() string { return p.addr }

func (p *peer) logf(level engine.LogLevel, format string, args ...any) {
	p.c.opts.Logf(level, format, args...)
}

func (p *peer) stop() { p.cancel() }

func (p *peer) httpAddress() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.httpAddr
}

// enqueue adds a change for the connection; while disconnected it is
// dropped, since the next connection registers a snapshot.
func (p *peer) enqueue(cmd command) {
	p.mu.Lock()
	if p.mu.queueing {
		if len(p.mu.queue) >= maxQueue {
			p.mu.queue, p.mu.overflow = nil, true
		} else {
			p.mu.queue = append(p.mu.queue, cmd)
		}
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// startQueueing marks the snapshot point: changes from now on are queued.
func (p *peer) startQueueing(on bool) {
	p.mu.Lock()
	p.mu.queueing, p.mu.queue, p.mu.overflow = on, nil, false
	p.mu.Unlock()
}

// takeQueue returns the queued changes; overflow means some were lost.
func (p *peer) takeQueue() (cmds []command, overflow bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmds, overflow = p.mu.queue, p.mu.overflow
	p.mu.queue, p.mu.overflow = nil, false
	return cmds, overflow
}

// run connects, registers, follows changes and pings until stop.
func (p *peer) run() {
	opts := &p.c.opts
	ping := time.NewTicker(opts.PingInterval)
	defer ping.Stop()
	retry := time.NewTimer(0) // connect at once
	defer retry.Stop()
	backoff := time.Second
	var conn *peerConn
	drop := func(why error) {
		p.logf(engine.LogError, "LOOKUPD(%s): %s", p, why)
		conn.close()
		conn = nil
		p.startQueueing(false)
		retry.Reset(backoff)
		backoff = min(2*backoff, opts.PingInterval)
	}
	connect := func() {
		var err error
		if conn, err = p.connect(); err != nil {
			conn = nil
			p.logf(engine.LogError, "LOOKUPD(%s): %s", p, err)
			retry.Reset(backoff)
			backoff = min(2*backoff, opts.PingInterval)
			return
		}
		backoff = time.Second
	}
	defer func() {
		if conn != nil {
			conn.close()
		}
	}()
	for {
		var dead <-chan struct{}
		if conn != nil {
			dead = conn.dead
		}
		select {
		case <-p.ctx.Done():
			return
		case <-retry.C:
			if conn == nil {
				connect()
			}
		case <-ping.C:
			if conn == nil {
				connect()
				continue
			}
			p.logf(engine.LogDebug, "LOOKUPD(%s): sending heartbeat", p)
			if err := conn.exchange(lookupv1.AppendPing(nil), 1); err != nil {
				drop(fmt.Errorf("PING - %w", err))
			}
		case <-dead:
			drop(conn.err)
		case <-p.wake:
			if conn == nil {
				continue
			}
			cmds, overflow := p.takeQueue()
			if overflow {
				drop(errors.New("too many changes queued; reconnecting to register them all"))
				continue
			}
			if err := p.send(conn, cmds); err != nil {
				drop(err)
			}
		}
	}
}

// connect dials, identifies and registers a snapshot of everything.
func (p *peer) connect() (*peerConn, error) {
	opts := &p.c.opts
	p.logf(engine.LogInfo, "LOOKUP connecting to %s", p.addr)
	d := net.Dialer{Timeout: opts.DialTimeout}
	nc, err := d.DialContext(p.ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	conn := newPeerConn(p.ctx, nc, opts.IOTimeout, opts.MaxResponseSize)
	fail := func(err error) (*peerConn, error) {
		conn.close()
		return nil, err
	}
	body, err := json.Marshal(opts.Identity)
	if err != nil {
		return fail(err)
	}
	out := lookupv1.AppendIdentify([]byte(lookupv1.Magic), body)
	if err := conn.write(out); err != nil {
		return fail(fmt.Errorf("IDENTIFY - %w", err))
	}
	resp, err := conn.read()
	if err != nil {
		return fail(fmt.Errorf("IDENTIFY - %w", err))
	}
	var info lookupdoc.Identity
	if err := json.Unmarshal(resp, &info); err != nil {
		return fail(fmt.Errorf("IDENTIFY: lookupd returned %q", resp))
	}
	p.logf(engine.LogInfo, "LOOKUPD(%s): peer info %+v", p, info)
	if info.BroadcastAddress == "" {
		p.logf(engine.LogError, "LOOKUPD(%s): no broadcast address", p)
	}
	p.mu.Lock()
	p.mu.httpAddr = httpAddressOf(info)
	p.mu.Unlock()

	// Changes from here on are queued; the snapshot covers the earlier
	// ones.
	p.startQueueing(true)
	var cmds []command
	for _, r := range opts.Snapshot() {
		cmds = append(cmds, command{register: true, topic: r.Topic, channel: r.Channel})
	}
	if err := p.send(conn, cmds); err != nil {
		p.startQueueing(false)
		return fail(err)
	}
	return conn, nil
}

// send writes cmds pipelined and checks every answer.
func (p *peer) send(conn *peerConn, cmds []command) error {
	var buf []byte
	for len(cmds) > 0 {
		n := min(len(cmds), pipelineDepth)
		buf = buf[:0]
		for _, cmd := range cmds[:n] {
			p.logf(engine.LogInfo, "LOOKUPD(%s): %s", p, cmd)
			buf = cmd.append(buf)
		}
		if err := conn.exchange(buf, n); err != nil {
			return fmt.Errorf("%s - %w", cmds[0], err)
		}
		cmds = cmds[n:]
	}
	return nil
}

// errAnswer is an answer other than OK; nsqlookupd closes the connection
// after it.
type errAnswer string

func (e errAnswer) Error() string { return "lookupd returned " + string(e) }

// peerConn is one connection to an nsqlookupd. Its reader goroutine hands
// every answer to answers and closes dead when the connection fails.
type peerConn struct {
	ctx     context.Context // the peer's: canceled on stop
	nc      net.Conn
	timeout time.Duration
	answers chan []byte // capacity pipelineDepth
	dead    chan struct{}
	err     error         // why dead was closed; read after <-dead
	closed  chan struct{} // closed by close, so the reader never blocks on answers
	once    sync.Once
}

func newPeerConn(ctx context.Context, nc net.Conn, timeout time.Duration, maxResponse int) *peerConn {
	c := &peerConn{ctx: ctx, nc: nc, timeout: timeout, answers: make(chan []byte, pipelineDepth),
		dead: make(chan struct{}), closed: make(chan struct{})}
	go c.readLoop(maxResponse)
	return c
}

func (c *peerConn) readLoop(maxResponse int) {
	buf := make([]byte, 0, 4096)
	for {
		data, n, err := lookupv1.ParseResponse(buf, maxResponse)
		if err != nil {
			c.err = err
			break
		}
		if n > 0 {
			select {
			case c.answers <- append([]byte(nil), data...):
			case <-c.closed:
				c.err = net.ErrClosed
				close(c.dead)
				return
			}
			buf = buf[:copy(buf, buf[n:])]
			continue
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := c.nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && m == 0 {
			c.err = err
			break
		}
	}
	close(c.dead)
}

func (c *peerConn) close() {
	c.once.Do(func() {
		close(c.closed)
		_ = c.nc.Close()
	})
}

func (c *peerConn) write(b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.nc.Write(b)
	return err
}

// read waits for the next answer.
func (c *peerConn) read() ([]byte, error) {
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case a := <-c.answers:
		return a, nil
	case <-c.dead:
		// An answer may have arrived before the connection ended.
		select {
		case a := <-c.answers:
			return a, nil
		default:
		}
		return nil, c.err
	case <-t.C:
		return nil, errors.New("timed out waiting for nsqlookupd")
	case <-c.ctx.Done():
		return nil, c.ctx.Err()
	}
}

// exchange writes b, holding n commands, and reads their n answers, each
// of which must be OK.
func (c *peerConn) exchange(b []byte, n int) error {
	if err := c.write(b); err != nil {
		return err
	}
	for range n {
		a, err := c.read()
		if err != nil {
			return err
		}
		if string(a) != lookupv1.OK {
			return errAnswer(a)
		}
	}
	return nil
}
