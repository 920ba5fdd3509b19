package netpoll

import (
	"crypto/tls"
	"errors"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// Client states, numbered as upstream's (they appear in /stats).
const (
	StateInit       int32 = 0
	StateConnected  int32 = 2
	StateSubscribed int32 = 3
	StateClosing    int32 = 4
)

// Client is one V2 connection. Fields in the first group are owned by the
// connection's event loop; the rest say how they are guarded.
type Client struct {
	srv         *Server
	conn        gnet.Conn // the event-loop connection (until a hand-off)
	id          int64
	remoteAddr  string
	connectTime time.Time

	// owned by the goroutine serving the connection: its event loop, or
	// after a TLS/snappy/deflate upgrade its reader goroutine
	gotMagic bool
	cmd      wire.Command
	resume   wire.Resume // how far the incomplete command at the front was parsed
	sub      *engine.Subscription
	settings wire.ClientSettings
	mpubIt   wire.MessageIter
	// mpubTopic is the topic of the MPUB being read, found (created if
	// need be) once its line is in, before its body: upstream checks
	// auth and creates the topic before it reads an MPUB's body, so the
	// topic exists even when the body never comes or is rejected.
	mpubTopic *engine.Topic
	upgrade   *upgradeReq // negotiated by IDENTIFY, not yet done
	handedOff bool        // the event loop gave the socket to a goroutine
	unread    int         // bytes left in gnet's buffer by the last onTraffic
	// need is how many bytes the input must hold before the incomplete
	// command at its front can be parsed further (wire.Command.Need); 0:
	// unknown, parse at every read.
	need  int
	tlsOn bool
	auth  authClient
	fins  *finBatch // FINs read and not yet applied (see fin)
	// notify are the topics this read published to, to deliver from once
	// the answers are written (see notifyTopics).
	notify []*engine.Topic
	// ack holds the answers waiting for a topic's sync (ackPublish).
	ack   ackState
	syncW engine.SyncWaiter // preallocated: parking allocates nothing

	// syncDone is set by syncW's Wake (the topic's committer goroutine).
	syncDone atomic.Bool

	// up is set once the connection is served by goroutines (upgraded).
	up atomic.Pointer[upgraded]

	state      atomic.Int32
	readyCount atomic.Int64
	closed     atomic.Bool
	lastRead   atomic.Int64 // unix ns of the last whole command received (the read timeout counts from it)
	// readTimedOut: the heartbeat loop closed the connection for its
	// silence, which ends its input as a read deadline would (see heartbeat)
	readTimedOut atomic.Bool
	// stalledSince is when output started queueing in gnet because the
	// peer stopped reading (0 = it keeps up); see noteBacklog.
	stalledSince atomic.Int64

	outMu       sync.Mutex
	out         *bytebufferpool.ByteBuffer // frames waiting to be written; nil when none
	wakePending atomic.Bool
	inTraffic   atomic.Bool
	o           outState // coalescing and the bound on pending output (output.go)

	// Heartbeats: the server's heartbeat loop sends one when nextBeat
	// (unix ns) has passed; hbInterval (ns) 0 means none.
	hbInterval atomic.Int64
	nextBeat   atomic.Int64

	info struct {
		sync.Mutex
		clientID, hostname, userAgent string
		identified                    bool
		topic, channel                string
		pubCounts                     map[string]*uint64
		sampleRate                    int32
		deflate, snappy               bool
		tls                           *tls.ConnectionState
		authIdentity, authURL         string
		authed                        bool
	}
}

func newClient(s *Server, gc gnet.Conn) *Client {
	c := &Client{
		srv:         s,
		conn:        gc,
		id:          s.nextID.Add(1),
		connectTime: time.Now(),
		settings:    wire.DefaultClientSettings(s.opts.ClientTimeout, s.opts.OutputBufferTimeout, s.opts.MsgTimeout),
	}
	if ra := gc.RemoteAddr(); ra != nil {
		c.remoteAddr = ra.String()
	}
	if c.remoteAddr == "" || c.remoteAddr == "@" {
		c.remoteAddr = "unix"
	}
	// Until IDENTIFY, client_id and hostname are the peer's host, as
	// upstream.
	host := c.remoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	c.info.clientID, c.info.hostname = host, host
	c.lastRead.Store(c.connectTime.UnixNano())
	c.resetHeartbeat(c.settings.HeartbeatInterval)
	c.applyOutputSettings()
	c.syncW.Wake = c.syncWoken
	return c
}

// ackState is what a connection owes while a publish's OK waits for its
// topic's sync: the OKs of that publish and of the publishes to the same
// topic read behind it (run at once, so that one sync answers a whole
// pipeline), then possibly the error of a later one. The connection runs
// no other command until they are sent.
type ackState struct {
	pending  bool
	kind     wire.CommandKind // of the first publish: names a sync failure
	topic    *engine.Topic
	tk       engine.Ticket // the highest ticket of the publishes owed an OK
	waited   engine.Ticket // the ticket syncW waits for
	oks      int
	errAfter *wire.Error // answer after the OKs
}

// syncWoken is syncW's Wake: the publish the connection waits for is
// durable (or failed); its loop sends the answer and goes on.
func (c *Client) syncWoken() {
	c.syncDone.Store(true)
	if u := c.up.Load(); u != nil {
		u.syncKick() // handed off while waiting (parkedInputBound)
		return
	}
	_ = c.conn.Wake(nil)
}

// ID is the server-unique client id.
func (c *Client) ID() int64 { return c.id }

// RemoteAddr is the peer's address.
func (c *Client) RemoteAddr() string { return c.remoteAddr }

func (c *Client) onTraffic() gnet.Action {
	c.inTraffic.Store(true)
	c.wakePending.Store(false)
	action := gnet.None
	if c.need > 0 && !c.auth.pending && !c.ack.pending {
		if in := c.conn.InboundBuffered(); in < c.need {
			// A command spanning many reads (a large PUB): wait for its
			// last byte instead of peeking and parsing all of it at
			// every read. Peek(-1) copies what gnet holds into one
			// slice each time, so a 1 MiB PUB in 64 KiB reads copied
			// and allocated 12 MB: BenchmarkPubLarge/1024KiB 3.5 ms,
			// 12.5 MB, 28 allocs per message before this.
			c.unread = in
			c.inTraffic.Store(false)
			c.flush()
			return action
		}
	}
	buf, _ := c.conn.Peek(-1)
	n, act := c.process(buf)
	if n > 0 {
		// A whole command came in: upstream sets its read deadline
		// before each command, so the read timeout counts from here
		// (bytes of a command not whole yet do not push it back).
		c.lastRead.Store(time.Now().UnixNano())
	}
	c.unread = len(buf) - n
	if act == actNone && c.unread > c.srv.parkedInputBound() && (c.auth.pending || c.ack.pending) {
		// Waiting (auth, sync) and pipelining past the largest command:
		// gnet would read on without bound, so leave the loop for a
		// goroutine that stops reading until the wait is over.
		act = actUpgrade
		c.upgrade = &upgradeReq{}
	}
	switch act {
	case actClose:
		action = gnet.Close
	case actUpgrade:
		carry := append([]byte(nil), buf[n:]...)
		_, _ = c.conn.Discard(len(buf))
		c.inTraffic.Store(false)
		c.notifyTopics()
		req := c.upgrade
		c.upgrade = nil
		return c.handOff(req, carry)
	}
	if n > 0 {
		_, _ = c.conn.Discard(n)
	}
	// Order matters: clear inTraffic before taking the output, so anything
	// appended after the swap below either sees inTraffic false and wakes
	// us, or was appended before it and is written now.
	c.inTraffic.Store(false)
	c.flush()
	c.notifyTopics()
	return action
}

// Disconnect closes the connection (engine.Consumer).
func (c *Client) Disconnect() { c.closeConn() }

func (c *Client) closeConn() {
	if c.closed.Load() {
		return
	}
	if u := c.up.Load(); u != nil {
		u.close()
		return
	}
	_ = c.conn.Close()
}

// cutShort is the error upstream sends when a connection's input ends
// (EOF, a read error) with buf, the bytes received and not yet used, left
// over: a command whose line is complete but whose body size or body is
// not ("PUB failed to read message body" and the like; see
// wire.IncompleteError). nil when upstream sends nothing: no command line
// is complete, or nothing is left; and while an auth server is being
// asked, as the commands in buf have not run yet (see inputEnded).
func (c *Client) cutShort(buf []byte) *wire.Error {
	if !c.gotMagic || c.auth.pending {
		return nil
	}
	return wire.IncompleteError(buf, &c.srv.limits)
}

// inputEnded answers a command cut short by the end of an event-loop
// connection's input; it runs in OnClose, before gnet closes the socket.
// The peer may have shut down only its own side, so the socket can still
// carry the error frame. gnet's Write makes one non-blocking write, and
// gnet then flushes what the socket did not take with non-blocking writes
// before it closes the descriptor, so the loop never waits: a frame the
// socket's send buffer cannot hold (a peer that stopped reading) is lost,
// where upstream would wait up to its write deadline.
//
// While an auth server is being asked, the commands in buf have not run
// yet; upstream would wait for the answer, run them and answer each. So
// the connection leaves the event loop as for an upgrade, with nothing to
// upgrade (c.handedOff is then set): its reader goroutine waits for the
// answer, runs what buf holds, and answers a command cut short as above.
func (c *Client) inputEnded(buf []byte) {
	if c.auth.pending {
		if c.gotMagic && !c.readTimedOut.Load() {
			c.handOff(&upgradeReq{}, append([]byte(nil), buf...))
		}
		return
	}
	e := c.cutShort(buf)
	if e == nil {
		return
	}
	c.sendError(e)
	if bb := c.takeOut(); bb != nil {
		_, _ = c.conn.Write(bb.B)
		outPool.Put(bb)
	}
}

func (c *Client) onClosed() {
	c.closed.Store(true)
	if c.sub != nil {
		c.sub.Close()
		c.sub = nil
	}
}

// resetHeartbeat sets the heartbeat interval; d == 0 disables heartbeats
// and the read timeout.
func (c *Client) resetHeartbeat(d time.Duration) {
	c.hbInterval.Store(int64(d))
	c.nextBeat.Store(time.Now().UnixNano() + int64(d))
}

// heartbeat runs on the server's heartbeat goroutine when nextBeat has
// passed: close a client that has been silent for two intervals
// (upstream's read deadline) or whose output has not drained for one
// (upstream's write deadline), else send _heartbeat_.
func (c *Client) heartbeat(now int64) {
	d := c.hbInterval.Load()
	if d <= 0 || c.closed.Load() || now < c.nextBeat.Load() {
		return
	}
	c.nextBeat.Store(now + d)
	if idle := now - c.lastRead.Load(); idle > 2*d {
		c.srv.logf(engine.LogError, "PROTOCOL(V2): [%s] read timeout after %s", c.remoteAddr, time.Duration(idle))
		// Upstream's read deadline ends the input: a command cut short
		// is answered (inputEnded), then the connection closes.
		c.readTimedOut.Store(true)
		if u := c.up.Load(); u != nil {
			u.expireRead()
			return
		}
		c.closeConn()
		return
	}
	if st := c.stalledSince.Load(); st != 0 && now-st > d {
		c.srv.logf(engine.LogError, "PROTOCOL(V2): [%s] write timeout: output not drained for %s", c.remoteAddr, time.Duration(d))
		c.closeConn()
		return
	}
	c.appendOut(wire.AppendHeartbeat)
	c.Flush(true)
}

// What process asks of the transport when it returns.
const (
	actNone    = iota
	actClose   // write what is pending, then close
	actUpgrade // hand the connection to goroutines (TLS, snappy, deflate)
)

// process runs every complete command in buf and returns the bytes used.
// It stops early while an AUTH query is outstanding or a publish waits for
// its sync, and after an IDENTIFY that negotiated an upgrade.
func (c *Client) process(buf []byte) (int, int) {
	n, act := c.processCommands(buf)
	c.flushFins()
	return n, act
}

func (c *Client) processCommands(buf []byte) (int, int) {
	c.need = 0
	if c.auth.pending {
		if !c.auth.collect(c) {
			return 0, actNone // the auth server has not answered yet
		}
		if c.auth.fatal != nil {
			c.sendError(c.auth.fatal)
			return len(buf), actClose
		}
	}
	if c.ack.pending {
		if done, act := c.answerAcks(); !done {
			return 0, act
		} else if act == actClose {
			return len(buf), actClose
		}
	}
	off := 0
	if !c.gotMagic {
		if len(buf) < len(wire.MagicV2) {
			return 0, actNone
		}
		if string(buf[:4]) != wire.MagicV2 {
			c.srv.logf(engine.LogError, "client(%s) bad protocol magic '%s'", c.remoteAddr, buf[:4])
			c.appendOut(func(b []byte) []byte { return wire.AppendFrame(b, wire.FrameTypeError, []byte("E_BAD_PROTOCOL")) })
			return len(buf), actClose
		}
		c.gotMagic = true
		off = 4
	}
	for off < len(buf) {
		// An incomplete command stays at the front of the input until
		// it is whole or refused, so resuming its parse is safe.
		n, perr := wire.ParseCommandResume(buf[off:], &c.srv.limits, &c.cmd, &c.resume)
		if perr == nil && n == 0 && c.cmd.Name == nil {
			break // not even a whole line yet
		}
		if c.ack.pending && (perr != nil || n == 0 || !c.followsAck(&c.cmd)) {
			return off, actNone // its answer comes after the OKs owed
		}
		// Checks upstream makes before it reads a command's body.
		if e := c.preBodyCheck(&c.cmd); e != nil {
			c.sendError(e)
			return len(buf), actClose
		}
		// Upstream checks an MPUB's auth and creates its topic once the
		// line has passed its checks, before it reads the body.
		if c.cmd.Kind == wire.CmdMPub && c.mpubTopic == nil && len(c.cmd.Params) > 0 && wire.IsValidTopicName(c.cmd.Params[0]) {
			t, e := c.mpubPrologue(&c.cmd)
			if e == errAuthPending {
				return off, actNone // run this command again once the auth server answers
			}
			if e != nil {
				c.sendError(e)
				return len(buf), actClose
			}
			c.mpubTopic = t
		}
		if perr != nil {
			c.sendError(perr)
			return len(buf), actClose
		}
		if n == 0 {
			// relative to the incomplete command, which the input
			// starts with once the off bytes before it are discarded
			c.need = c.cmd.Need
			break
		}
		if c.fins != nil && c.cmd.Kind != wire.CmdFin {
			c.flushFins() // answers stay in the order of the commands
		}
		err := c.exec(&c.cmd)
		if err == errAuthPending {
			return off, actNone // run this command again once the auth server answers
		}
		off += n
		if err != nil && c.ack.pending {
			c.ack.errAfter = err // after the OKs owed
			return off, actNone
		}
		if err != nil {
			c.sendError(err)
			if err.Fatal {
				return len(buf), actClose
			}
		}
		if c.upgrade != nil {
			return off, actUpgrade
		}
		if c.auth.pending {
			return off, actNone
		}
	}
	return off, actNone
}

// followsAck reports whether cmd may run while OKs are owed: a publish to
// the topic they wait for (its OK joins them), without AUTH (whose
// re-queries could answer out of order).
func (c *Client) followsAck(cmd *wire.Command) bool {
	switch cmd.Kind {
	case wire.CmdPub, wire.CmdMPub, wire.CmdDPub:
		return !c.authEnabled() && len(cmd.Params) > 0 && string(cmd.Params[0]) == c.ack.topic.Name()
	}
	return false
}

// answerAcks sends the answers owed once the sync they wait for is done:
// false while it is not (or a publish behind the first needs a later sync),
// with actClose after a fatal one.
func (c *Client) answerAcks() (bool, int) {
	a := &c.ack
	if !c.syncDone.Load() {
		return false, actNone
	}
	if err := c.syncW.Err(); err != nil {
		kind := a.kind
		*a = ackState{}
		c.sendError(publishFailed(kind, err))
		return true, actClose
	}
	if a.tk > a.waited {
		a.waited = a.tk
		c.syncDone.Store(false)
		if a.topic.Await(a.tk, &c.syncW) {
			return false, actNone
		}
		if err := c.syncW.Err(); err != nil {
			kind := a.kind
			*a = ackState{}
			c.sendError(publishFailed(kind, err))
			return true, actClose
		}
	}
	for ; a.oks > 0; a.oks-- {
		c.appendOut(wire.AppendOK)
	}
	e := a.errAfter
	*a = ackState{}
	if e != nil {
		c.sendError(e)
		if e.Fatal {
			return true, actClose
		}
	}
	return true, actNone
}

// preBodyCheck is what upstream checks once a command's line is read and
// before its body: TLS policy (for everything but IDENTIFY, unknown
// commands included) and the state of IDENTIFY and AUTH.
func (c *Client) preBodyCheck(cmd *wire.Command) *wire.Error {
	if cmd.Kind != wire.CmdIdentify && c.srv.opts.TLSRequired && !c.tlsOn {
		return wire.ErrTLSRequired(cmd.Name)
	}
	if k := cmd.Kind; (k == wire.CmdIdentify || k == wire.CmdAuth) && c.state.Load() != StateInit {
		return wire.ErrInvalidState(k)
	}
	return nil
}

func (c *Client) sendError(e *wire.Error) {
	c.flushFins() // the errors of FINs read before come first
	c.srv.logf(engine.LogError, "[%s] - %s", c.remoteAddr, e.Error())
	if e.Silent() {
		return
	}
	c.appendOut(func(b []byte) []byte { return wire.AppendErrorFrame(b, e) })
}

func (c *Client) exec(cmd *wire.Command) *wire.Error {
	switch cmd.Kind {
	case wire.CmdIdentify:
		return c.identify(cmd)
	case wire.CmdFin:
		return c.fin(cmd)
	case wire.CmdRdy:
		return c.rdy(cmd)
	case wire.CmdReq:
		return c.req(cmd)
	case wire.CmdPub:
		return c.pub(cmd)
	case wire.CmdMPub:
		return c.mpub(cmd)
	case wire.CmdDPub:
		return c.dpub(cmd)
	case wire.CmdNop:
		return nil
	case wire.CmdTouch:
		return c.touch(cmd)
	case wire.CmdSub:
		return c.subscribe(cmd)
	case wire.CmdCls:
		return c.cls()
	case wire.CmdAuth:
		return c.authCommand(cmd)
	}
	return wire.NewFatalError(wire.CodeInvalid, "invalid command "+string(cmd.Name))
}

func (c *Client) identify(cmd *wire.Command) *wire.Error {
	if c.state.Load() != StateInit {
		return wire.ErrInvalidState(wire.CmdIdentify)
	}
	req, perr := wire.ParseIdentify(cmd.Body)
	if perr != nil {
		return perr
	}
	o := &c.srv.opts
	lim := wire.IdentifyLimits{
		MaxHeartbeatInterval:   o.MaxHeartbeatInterval,
		MaxOutputBufferSize:    o.MaxOutputBufferSize,
		MinOutputBufferTimeout: o.MinOutputBufferTimeout,
		MaxOutputBufferTimeout: o.MaxOutputBufferTimeout,
		MaxMsgTimeout:          o.MaxMsgTimeout,
	}
	c.info.Lock()
	c.info.clientID, c.info.hostname, c.info.userAgent = truncateField(req.ClientID), truncateField(req.Hostname), truncateField(req.UserAgent)
	c.info.identified = true
	c.info.Unlock()
	s, perr := req.Apply(c.settings, &lim)
	if perr != nil {
		return perr
	}
	if s.HeartbeatInterval != c.settings.HeartbeatInterval {
		c.resetHeartbeat(s.HeartbeatInterval)
	}
	c.settings = s
	c.applyOutputSettings()
	c.info.Lock()
	c.info.sampleRate = s.SampleRate
	c.info.Unlock()
	if !req.FeatureNegotiation {
		c.appendOut(wire.AppendOK)
		return nil
	}
	feat := wire.ServerFeatures{
		TLS:             o.TLSConfig != nil && c.up.Load() == nil,
		Deflate:         o.DeflateEnabled && c.up.Load() == nil,
		Snappy:          o.SnappyEnabled && c.up.Load() == nil,
		MaxDeflateLevel: o.MaxDeflateLevel,
		AuthRequired:    len(o.AuthHTTPAddresses) > 0,
		MaxRdyCount:     o.MaxRdyCount,
		MaxMsgTimeout:   o.MaxMsgTimeout,
		Version:         o.Version,
	}
	resp, perr := req.Negotiate(&feat, s)
	if perr != nil {
		return perr
	}
	c.appendOut(func(b []byte) []byte {
		var tmp [512]byte
		return wire.AppendResponse(b, resp.AppendJSON(tmp[:0]))
	})
	if resp.TLSv1 || resp.Snappy || resp.Deflate {
		c.upgrade = &upgradeReq{tls: resp.TLSv1, snappy: resp.Snappy, deflate: resp.Deflate, level: resp.DeflateLevel}
	}
	return nil
}

func (c *Client) subscribe(cmd *wire.Command) *wire.Error {
	if c.state.Load() != StateInit {
		return wire.ErrInvalidState(wire.CmdSub)
	}
	if c.settings.HeartbeatInterval <= 0 {
		return wire.ErrSubHeartbeatsDisabled()
	}
	topicName, channelName, perr := wire.ParseSUB(cmd.Params)
	if perr != nil {
		return perr
	}
	if e := c.checkAuth("SUB", topicName, channelName); e != nil {
		return e
	}
	so := engine.SubscribeOptions{MsgTimeout: c.settings.MsgTimeout, SampleRate: c.settings.SampleRate}
	var sub *engine.Subscription
	// An ephemeral topic or channel may be deleted between lookup and
	// subscribe by its last consumer leaving; try again once, as upstream.
	for i := 0; ; i++ {
		t, err := c.srv.eng.GetTopicBytes(topicName)
		var ch *engine.Channel
		if err == nil {
			ch, err = t.GetChannel(string(channelName))
		}
		if err == nil {
			sub, err = ch.Subscribe(c, so)
		}
		if err == nil {
			break
		}
		if errors.Is(err, engine.ErrTooManyConsumer) {
			return wire.ErrSubFailed(err.Error())
		}
		if i >= 1 {
			return wire.ErrSubExiting()
		}
	}
	c.sub = sub
	c.o.sub.Store(sub)
	c.info.Lock()
	c.info.topic, c.info.channel = string(topicName), string(channelName)
	c.info.Unlock()
	c.state.Store(StateSubscribed)
	c.appendOut(wire.AppendOK)
	return nil
}

func (c *Client) rdy(cmd *wire.Command) *wire.Error {
	st := c.state.Load()
	if st == StateClosing {
		return nil // upstream ignores RDY after CLS
	}
	if st != StateSubscribed {
		return wire.ErrInvalidState(wire.CmdRdy)
	}
	n, perr := wire.ParseRDY(cmd.Params)
	if perr != nil {
		return perr
	}
	if n < 0 || n > c.srv.opts.MaxRdyCount {
		return wire.ErrRDYOutOfRange(n, c.srv.opts.MaxRdyCount)
	}
	c.readyCount.Store(n)
	c.sub.SetReady(n)
	return nil
}

func (c *Client) canAck(kind wire.CommandKind) *wire.Error {
	if st := c.state.Load(); st != StateSubscribed && st != StateClosing {
		return wire.ErrInvalidState(kind)
	}
	return nil
}

func (c *Client) fin(cmd *wire.Command) *wire.Error {
	if e := c.canAck(wire.CmdFin); e != nil {
		return e
	}
	id, perr := wire.ParseFIN(cmd.Params)
	if perr != nil {
		return perr
	}
	if c.fins == nil {
		c.fins = finBatches.Get().(*finBatch)
	}
	b := c.fins
	copy(b.ids[b.n][:], id)
	b.n++
	if b.n == len(b.ids) {
		c.flushFins()
	}
	return nil
}

// finBatch holds the FINs of one read, applied together by flushFins
// (engine.Subscription.FinishAll): one lock acquisition and one delivery
// round for the lot instead of one per FIN. A connection holds one only
// while it processes a read, so idle connections cost nothing.
type finBatch struct {
	n    int
	ids  [64]wire.MessageID
	errs [64]error
}

var finBatches = sync.Pool{New: func() any { return new(finBatch) }}

// flushFins applies the pending FINs and answers those that failed, in
// order. It runs before any other command's answer and at the end of
// each read.
func (c *Client) flushFins() {
	b := c.fins
	if b == nil {
		return
	}
	c.fins = nil
	c.sub.FinishAll(b.ids[:b.n], b.errs[:b.n])
	for i := 0; i < b.n; i++ {
		if err := b.errs[i]; err != nil {
			b.errs[i] = nil
			c.sendError(wire.ErrFINFailed(b.ids[i][:], err.Error()))
		}
	}
	b.n = 0
	finBatches.Put(b)
}

func (c *Client) req(cmd *wire.Command) *wire.Error {
	if e := c.canAck(wire.CmdReq); e != nil {
		return e
	}
	id, d, perr := wire.ParseREQ(cmd.Params)
	if perr != nil {
		return perr
	}
	d = wire.ClampReqTimeout(d, c.srv.opts.MaxReqTimeout)
	if err := c.sub.Requeue(id, d); err != nil {
		return wire.ErrREQFailed(id, err.Error())
	}
	return nil
}

func (c *Client) touch(cmd *wire.Command) *wire.Error {
	if e := c.canAck(wire.CmdTouch); e != nil {
		return e
	}
	id, perr := wire.ParseTOUCH(cmd.Params)
	if perr != nil {
		return perr
	}
	if err := c.sub.Touch(id); err != nil {
		return wire.ErrTOUCHFailed(id, err.Error())
	}
	return nil
}

func (c *Client) cls() *wire.Error {
	if c.state.Load() != StateSubscribed {
		return wire.ErrInvalidState(wire.CmdCls)
	}
	c.state.Store(StateClosing)
	c.readyCount.Store(0)
	c.sub.SetReady(0)
	c.appendOut(wire.AppendCloseWait)
	return nil
}

func (c *Client) topic(cmd *wire.Command) (*engine.Topic, error) {
	return c.srv.eng.GetTopicBytes(cmd.Params[0])
}

func (c *Client) pub(cmd *wire.Command) *wire.Error {
	if e := c.checkAuth("PUB", cmd.Params[0], nil); e != nil {
		return e
	}
	t, err := c.topic(cmd)
	var tk engine.Ticket
	if err == nil {
		tk, err = t.Put(cmd.Body, 0)
		c.toNotify(t)
	}
	if err != nil {
		return wire.ErrPUBFailed(err.Error())
	}
	c.published(cmd.Params[0], 1)
	return c.ackPublish(t, tk, wire.CmdPub)
}

func (c *Client) dpub(cmd *wire.Command) *wire.Error {
	if e := c.checkAuth("DPUB", cmd.Params[0], nil); e != nil {
		return e
	}
	t, err := c.topic(cmd)
	var tk engine.Ticket
	if err == nil {
		tk, err = t.Put(cmd.Body, cmd.Defer)
		c.toNotify(t)
	}
	if err != nil {
		return wire.ErrDPUBFailed(err.Error())
	}
	c.published(cmd.Params[0], 1)
	return c.ackPublish(t, tk, wire.CmdDPub)
}

// mpubPrologue is what upstream does once an MPUB's line is read and
// before its body: check auth, then get or create the topic.
func (c *Client) mpubPrologue(cmd *wire.Command) (*engine.Topic, *wire.Error) {
	if e := c.checkAuth("MPUB", cmd.Params[0], nil); e != nil {
		return nil, e
	}
	t, err := c.topic(cmd)
	if err != nil {
		return nil, wire.ErrMPUBFailed(err.Error())
	}
	return t, nil
}

// mpub appends a whole MPUB to the topic its prologue found (see
// processCommands).
func (c *Client) mpub(cmd *wire.Command) *wire.Error {
	t := c.mpubTopic
	c.mpubTopic = nil
	if t == nil {
		var e *wire.Error
		if t, e = c.mpubPrologue(cmd); e != nil {
			return e
		}
	}
	c.mpubIt = c.cmd.Messages()
	tk, err := t.PutBatch(&c.mpubIt)
	c.toNotify(t)
	if err != nil {
		return wire.ErrMPUBFailed(err.Error())
	}
	c.published(cmd.Params[0], uint64(cmd.NumMessages))
	return c.ackPublish(t, tk, wire.CmdMPub)
}

// ackPublish answers a publish that is in t's log: OK at once, or once the
// topic's sync covers ticket tk (the --sync-every rule; see engine's
// durable.go). On an event loop the connection parks like a pending AUTH:
// it runs no further command but publishes to the same topic (whose OKs
// queue behind, so answers stay in order; see ackState) until the sync's
// completion wakes the loop, which then sends the OKs (answerAcks); no
// disk wait ever happens on the loop. An upgraded connection's goroutine
// simply blocks.
func (c *Client) ackPublish(t *engine.Topic, tk engine.Ticket, kind wire.CommandKind) *wire.Error {
	if c.ack.pending { // behind a publish whose OK waits: so does this one
		c.ack.oks++
		c.ack.tk = max(c.ack.tk, tk)
		return nil
	}
	if tk != 0 {
		if c.up.Load() != nil {
			if err := t.WaitDurable(tk); err != nil {
				return publishFailed(kind, err)
			}
		} else {
			c.syncDone.Store(false)
			if t.Await(tk, &c.syncW) {
				c.ack = ackState{pending: true, kind: kind, topic: t, tk: tk, waited: tk, oks: 1}
				return nil
			}
			if err := c.syncW.Err(); err != nil {
				return publishFailed(kind, err)
			}
		}
	}
	c.appendOut(wire.AppendOK)
	return nil
}

// publishFailed is the fatal error of a publish whose log failed to sync.
func publishFailed(kind wire.CommandKind, err error) *wire.Error {
	switch kind {
	case wire.CmdMPub:
		return wire.ErrMPUBFailed(err.Error())
	case wire.CmdDPub:
		return wire.ErrDPUBFailed(err.Error())
	}
	return wire.ErrPUBFailed(err.Error())
}

// toNotify remembers that this read published to t.
func (c *Client) toNotify(t *engine.Topic) {
	for _, x := range c.notify {
		if x == t {
			return
		}
	}
	c.notify = append(c.notify, t)
}

// notifyTopics delivers what this read published, after its answers were
// written (event loop) or queued (upgraded connections): the channels are
// woken once per read, not once per message.
//
// Why: the publisher's loop took each channel's lock once per message,
// and in the fanout target waited 3.4 s of 10 s for locks the consumers'
// FINs held. Once per read: fanout --window=64 1.62 M -> 2.01 M msg/s
// delivered; with one PUB in flight it changed nothing measurable.
func (c *Client) notifyTopics() {
	for i, t := range c.notify {
		t.Notify()
		c.notify[i] = nil
	}
	c.notify = c.notify[:0]
}

// published counts messages per topic for /stats (upstream's pub_counts).
func (c *Client) published(topic []byte, n uint64) {
	c.info.Lock()
	if p := c.info.pubCounts[string(topic)]; p != nil {
		*p += n
	} else {
		if c.info.pubCounts == nil {
			c.info.pubCounts = map[string]*uint64{}
		}
		v := n
		c.info.pubCounts[string(topic)] = &v
	}
	c.info.Unlock()
}

// PubCount is a client's publish count for one topic.
type PubCount struct {
	Topic string
	Count uint64
}

// Info is a snapshot of a client for /stats.
type Info struct {
	ID             int64
	ClientID       string
	Hostname       string
	UserAgent      string
	RemoteAddress  string
	State          int32
	ReadyCount     int64
	InFlightCount  int64
	MessageCount   uint64
	FinishCount    uint64
	RequeueCount   uint64
	ConnectTime    time.Time
	SampleRate     int32
	Topic, Channel string
	PubCounts      []PubCount

	Deflate, Snappy bool
	// TLS details, when the connection negotiated TLS.
	TLS                           bool
	TLSVersion                    uint16
	TLSCipherSuite                uint16
	TLSNegotiatedProtocol         string
	TLSNegotiatedProtocolIsMutual bool
	// AUTH: whether the client authenticated, and as whom.
	Authed          bool
	AuthIdentity    string
	AuthIdentityURL string
}

// Info returns a snapshot of the client. Safe for concurrent use.
func (c *Client) Info() Info {
	in := Info{
		ID:            c.id,
		RemoteAddress: c.remoteAddr,
		State:         c.state.Load(),
		ReadyCount:    c.readyCount.Load(),
		ConnectTime:   c.connectTime,
	}
	c.info.Lock()
	in.ClientID, in.Hostname, in.UserAgent = c.info.clientID, c.info.hostname, c.info.userAgent
	in.Topic, in.Channel = c.info.topic, c.info.channel
	in.SampleRate = c.info.sampleRate
	in.Deflate, in.Snappy = c.info.deflate, c.info.snappy
	if st := c.info.tls; st != nil {
		in.TLS = true
		in.TLSVersion = st.Version
		in.TLSCipherSuite = st.CipherSuite
		in.TLSNegotiatedProtocol = st.NegotiatedProtocol
		in.TLSNegotiatedProtocolIsMutual = true
	}
	in.Authed, in.AuthIdentity, in.AuthIdentityURL = c.info.authed, c.info.authIdentity, c.info.authURL
	for t, n := range c.info.pubCounts {
		in.PubCounts = append(in.PubCounts, PubCount{Topic: t, Count: *n})
	}
	c.info.Unlock()
	sort.Slice(in.PubCounts, func(i, j int) bool { return in.PubCounts[i].Topic < in.PubCounts[j].Topic })
	return in
}

// FillSubscription adds the engine's per-consumer counters to an Info.
func FillSubscription(in *Info, cs engine.ConsumerStats) {
	in.ReadyCount = cs.ReadyCount
	in.InFlightCount = cs.InFlightCount
	in.MessageCount = cs.MessageCount
	in.FinishCount = cs.FinishCount
	in.RequeueCount = cs.RequeueCount
}
