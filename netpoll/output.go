package netpoll

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// A client's output: coalescing and its bound.
//
// Coalescing. Upstream gives every consumer a buffered writer of its
// negotiated output_buffer_size, flushed when it fills, when the consumer
// can take no more (in flight = RDY), or by a ticker of its
// output_buffer_timeout: a message may wait that long even on an idle
// connection. Ours writes at once while nsqd is not busy, so an idle
// consumer gets its message with no added latency. Once nsqd's writes run
// above busyRate a second (all connections together, over the last
// busyWrites writes), a consumer's message frames wait — answers and
// heartbeats never do — until one of:
//
//   - its pending output reaches its output_buffer_size;
//   - it can take no more (in flight reached RDY, or its output is over its
//     high-water mark): engine.Consumer.Flush(full);
//   - something else is written to it (an answer; the end of a read of its
//     own, which writes everything pending);
//   - its gather delay passes, counted from the first frame that waited.
//
// The gather delay adapts per consumer between gatherTick and the
// negotiated output_buffer_timeout less two ticks, so no frame ever waits
// longer than that timeout: it doubles after a gathered write that carried
// less than a quarter of the buffer size while the consumer was written to
// back to back, and halves after one that carried more than half. So a
// consumer taking a steady stream gathers about a quarter of its buffer per
// write, and system calls per delivered message fall as the stream per
// consumer grows, whatever the number of consumers. output_buffer_size -1
// or output_buffer_timeout -1 (or one below two ticks) turns it off for
// that consumer: every frame is written at once.
//
// One goroutine per server (outFlusher) wakes the loop of every consumer
// whose gather delay has passed, on a gatherTick ticker that runs only while
// some consumer waits.
//
// The bound. Without one, a consumer that sends RDY 2500 and never reads
// makes nsqd copy every message it is given into gnet's outbound buffer,
// which has no limit. So each consumer has a high-water mark on its pending
// output (what waits here plus what gnet holds): a delivery that takes it
// past the mark makes SendMessage answer false, and the engine gives that
// consumer nothing more (its in-flight messages keep their timeouts) until
// the output drains below the low-water mark and the loop calls
// engine.Subscription.Resume. gnet says nothing when its buffer drains, so
// the flusher wakes a stalled consumer's loop to look, first after a tick,
// then backing off to stallPollMax. A consumer holds at most its high-water
// mark plus one message frame.
//
// Concurrency: outState's atomics are written by the client's serving
// goroutine (event loop or upgraded reader/writer) and read by any
// goroutine that delivers (under the engine's channel lock); the fields
// marked so are guarded by Client.outMu.
type outState struct {
	// set by the serving goroutine when settings change (IDENTIFY)
	size      atomic.Int64 // output_buffer_size: frames waiting this many bytes are written at once
	maxGather atomic.Int64 // longest gather delay (ns); 0: never gather
	high, low atomic.Int64 // marks of pending output (bytes)

	gather   atomic.Int64 // current gather delay (ns)
	flushAt  atomic.Int64 // when the gathered frames are due (unix ns); 0: none wait
	writeNow atomic.Bool  // what is pending must not wait
	queued   atomic.Int64 // bytes taken from out and not yet on the socket
	pollAt   atomic.Int64 // a stalled consumer's next drain check (unix ns); 0: not stalled
	listed   atomic.Bool  // in the flusher's list

	sub atomic.Pointer[engine.Subscription] // to Resume after a stall

	stalled bool // guarded by outMu: SendMessage said stop; a Resume is owed

	// owned by the serving goroutine
	lastWrite int64 // unix ns
	pollGap   int64 // current back-off of the drain checks (ns)
}

const (
	// gatherTick is the flusher's resolution: a gathered frame is written
	// within a tick of its deadline.
	gatherTick = time.Millisecond
	// busyWrites and busyRate: nsqd counts as busy (consumers gather)
	// while its last busyWrites writes came faster than busyRate a second
	// and the last of them is recent. Below that, writes cost little
	// (10,000 a second are a few percent of a core) and latency wins.
	busyWrites = 64
	busyRate   = 10_000
	busySpan   = int64(busyWrites * time.Second / busyRate)
	// stallPollMax bounds the back-off of a stalled consumer's drain
	// checks: one that never reads costs 16 wake-ups a second.
	stallPollMax = int64(64 * time.Millisecond)
	// highPerBuffer: the high-water mark is four of the consumer's
	// output buffers, and never below twice --max-output-buffer-size
	// (128 KiB by default; 256 KiB for a consumer that asks for 64 KiB).
	highPerBuffer = 4
)

// outPool holds output buffers between bursts: an idle connection keeps
// none (sync.Pool-based, so no lock is shared by all connections). Before,
// every client kept two buffers of its largest burst; with 5000 idle
// subscribed connections that was most of their memory.
var outPool bytebufferpool.Pool

// now is the engine's coarse clock: time.Now once per delivery round was
// 8% of nsqd's CPU in a 64-channel fan-out.
func (c *Client) now() int64 { return c.srv.eng.Now() }

// applyOutputSettings takes the output buffering the client negotiated
// (c.settings) into outState; on the serving goroutine.
func (c *Client) applyOutputSettings() {
	o := &c.o
	size := int64(c.settings.OutputBufferSize)
	o.size.Store(size)
	maxG := int64(c.settings.OutputBufferTimeout) - 2*int64(gatherTick)
	if size <= 1 || maxG < int64(gatherTick) {
		maxG = 0 // output_buffer_size or output_buffer_timeout -1, or too short
	}
	o.maxGather.Store(maxG)
	o.gather.Store(int64(gatherTick))
	high := max(highPerBuffer*size, 2*c.srv.opts.MaxOutputBufferSize)
	o.high.Store(high)
	o.low.Store(high / 2)
}

// appendOut queues an answer (anything but a message frame): it is
// written at the end of the current read, or at once by Flush.
func (c *Client) appendOut(f func([]byte) []byte) {
	c.outMu.Lock()
	if c.out == nil {
		c.out = outPool.Get()
	}
	c.out.B = f(c.out.B)
	c.o.writeNow.Store(true)
	c.outMu.Unlock()
}

// SendMessage queues a message frame (engine.Consumer). Called with the
// engine's channel lock held; false once the pending output has passed
// the high-water mark (see outState).
func (c *Client) SendMessage(id wire.MessageID, ts int64, attempts uint16, body []byte) bool {
	c.outMu.Lock()
	if c.out == nil {
		c.out = outPool.Get()
	}
	c.out.B = wire.AppendMessage(c.out.B, id, ts, attempts, body)
	n := int64(len(c.out.B))
	ok := true
	if n+c.o.queued.Load() >= c.o.high.Load() {
		c.o.stalled = true
		c.o.writeNow.Store(true)
		ok = false
	} else if n >= c.o.size.Load() {
		c.o.writeNow.Store(true)
	}
	c.outMu.Unlock()
	return ok
}

// Flush gets what was queued written (engine.Consumer): at once when full
// or when something queued must not wait, else when the gathering rules
// say (see outState). It never blocks.
func (c *Client) Flush(full bool) {
	if full {
		c.o.writeNow.Store(true)
	}
	if c.inTraffic.Load() || c.closed.Load() {
		return // the loop is on this client now and writes before it leaves
	}
	if u := c.up.Load(); u != nil {
		u.kick()
		return
	}
	if !c.o.writeNow.Load() && c.gathering(c.now()) {
		return
	}
	c.wake()
}

// wake gets the client's serving goroutine to write its output.
func (c *Client) wake() {
	if u := c.up.Load(); u != nil {
		u.kick()
		return
	}
	if !c.wakePending.Swap(true) {
		_ = c.conn.Wake(nil)
	}
}

// gathering says whether the frames pending may wait, and sets their
// deadline if none is set yet. Safe for concurrent use.
func (c *Client) gathering(now int64) bool {
	if c.o.maxGather.Load() == 0 {
		return false
	}
	c.srv.out.demand(now) // a write, were frames not gathered
	if !c.srv.out.busy(now) {
		return false
	}
	if at := c.o.flushAt.Load(); at != 0 {
		return at > now
	}
	if c.o.flushAt.CompareAndSwap(0, now+c.o.gather.Load()) {
		c.srv.out.watch(c)
	}
	return true
}

// takeOut removes the pending output; the caller writes it and gives it
// back with outPool.Put. nil when there is none.
func (c *Client) takeOut() *bytebufferpool.ByteBuffer {
	c.outMu.Lock()
	bb := c.out
	c.out = nil
	if bb != nil {
		c.o.queued.Store(int64(len(bb.B))) // until the writer has written it
	}
	c.outMu.Unlock()
	return bb
}

// flush writes the pending output unless it may keep gathering, and lifts
// a stall once gnet's buffer has drained; event loop only.
func (c *Client) flush() {
	now := c.now()
	queued := c.conn.OutboundBuffered()
	c.o.queued.Store(int64(queued))
	c.noteBacklog(queued)
	c.resumeIfDrained(now)
	c.outMu.Lock()
	bb := c.out
	if bb == nil || (!c.o.writeNow.Load() && c.gathering(now)) {
		c.outMu.Unlock()
		return
	}
	gathered := c.o.flushAt.Load() != 0 && !c.o.writeNow.Load()
	c.o.flushAt.Store(0)
	c.o.writeNow.Store(false)
	c.out = nil
	c.outMu.Unlock()
	if n := len(bb.B); n > 0 {
		_, _ = c.conn.Write(bb.B) // gnet copies what the socket does not take
		queued = c.conn.OutboundBuffered()
		c.o.queued.Store(int64(queued))
		c.noteBacklog(queued)
		c.wrote(now, n, gathered)
	}
	outPool.Put(bb)
	c.resumeIfDrained(now)
}

// wrote adapts the gather delay to a write of n bytes (see outState).
func (c *Client) wrote(now int64, n int, gathered bool) {
	o := &c.o
	g, target := o.gather.Load(), o.size.Load()/2
	switch {
	case !c.srv.out.busy(now):
		g = int64(gatherTick)
	case gathered && int64(n) < target && now-o.lastWrite <= 2*g+int64(gatherTick):
		g = min(2*g, o.maxGather.Load())
	case int64(n) > 2*target:
		g = max(g/2, int64(gatherTick))
	}
	o.gather.Store(g)
	o.lastWrite = now
}

// resumeIfDrained lifts a stall once the pending output is at or below
// the low-water mark, or schedules the next look; serving goroutine only.
func (c *Client) resumeIfDrained(now int64) {
	c.outMu.Lock()
	if !c.o.stalled {
		c.outMu.Unlock()
		return
	}
	pending := c.o.queued.Load()
	if c.out != nil {
		pending += int64(len(c.out.B))
	}
	if pending > c.o.low.Load() {
		c.outMu.Unlock()
		if c.up.Load() == nil { // the upgraded writer calls again after each write
			c.o.pollGap = min(max(2*c.o.pollGap, int64(gatherTick)), stallPollMax)
			c.o.pollAt.Store(now + c.o.pollGap)
			c.srv.out.watch(c)
		}
		return
	}
	c.o.stalled = false
	c.outMu.Unlock()
	c.o.pollGap = 0
	c.o.pollAt.Store(0)
	if sub := c.o.sub.Load(); sub != nil {
		sub.Resume() // takes the channel's lock: outMu must not be held
	}
}

// maxBacklog bounds what a client that does not read may pile up in its
// outbound buffer before it is disconnected at once (message frames stop
// at the high-water mark; this catches a publisher that never reads its
// answers).
const maxBacklog = 64 << 20

// noteBacklog tracks output the socket would not take (event loop only).
// Upstream gives every write a deadline of one heartbeat interval; we
// disconnect a client whose output has not drained for that long (checked
// by the heartbeat timer), or at once past maxBacklog, so a consumer or
// producer that stops reading cannot grow the broker's memory unbounded.
func (c *Client) noteBacklog(buffered int) {
	switch {
	case buffered == 0:
		c.stalledSince.Store(0)
	case buffered > maxBacklog:
		c.srv.logf(engine.LogError, "PROTOCOL(V2): [%s] not reading: %d bytes pending, closing", c.remoteAddr, buffered)
		c.closeConn()
	case c.stalledSince.Load() == 0:
		c.stalledSince.Store(time.Now().UnixNano())
	}
}

// outFlusher writes gathered output when it is due and looks at stalled
// consumers' output (see outState). One per server; its lists are sharded
// by client so no lock is shared by all connections, and a client is in
// them only while it gathers or is stalled.
type outFlusher struct {
	shards [16]struct {
		sync.Mutex
		list []*Client
		_    [40]byte // its own cache line
	}
	kick chan struct{}

	// busy detection: every write consumers would get without gathering
	// counts (demand); every busyWrites-th records the time and how long
	// the last busyWrites took. Counting the writes actually made instead
	// would measure the gathering itself: as it gathered more, nsqd
	// looked idle, wrote at once, and hovered at the threshold (64
	// channels: 0.11 writes per delivered message instead of 0.04).
	writes atomic.Int64
	mark   atomic.Int64
	span   atomic.Int64
}

func (f *outFlusher) init() { f.kick = make(chan struct{}, 1) }

// demand counts a write consumers would get without gathering: one
// atomic add per delivery round of a consumer, not per message.
func (f *outFlusher) demand(now int64) {
	if f.writes.Add(1)%busyWrites == 0 {
		f.span.Store(now - f.mark.Swap(now))
	}
}

// busy: the last busyWrites writes came faster than busyRate a second,
// and not long ago.
func (f *outFlusher) busy(now int64) bool {
	return f.span.Load() < busySpan && now-f.mark.Load() < busySpan
}

// watch adds c to the lists (once).
func (f *outFlusher) watch(c *Client) {
	if !c.o.listed.CompareAndSwap(false, true) {
		return
	}
	sh := &f.shards[c.id&int64(len(f.shards)-1)]
	sh.Lock()
	sh.list = append(sh.list, c)
	sh.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// run is the flusher goroutine: a gatherTick ticker while any client is
// listed, asleep otherwise.
func (f *outFlusher) run(stop <-chan struct{}) {
	t := time.NewTicker(gatherTick)
	defer t.Stop()
	var due []*Client
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			due = f.scan(now.UnixNano(), due[:0])
			for i, c := range due {
				c.wake()
				due[i] = nil
			}
			if f.empty() {
				t.Stop()
				select {
				case <-stop:
					return
				case <-f.kick:
					t.Reset(gatherTick)
				}
			}
		case <-f.kick:
		}
	}
}

// scan collects the listed clients that are due and drops those that
// neither gather nor are stalled.
func (f *outFlusher) scan(now int64, due []*Client) []*Client {
	for i := range f.shards {
		sh := &f.shards[i]
		sh.Lock()
		keep := sh.list[:0]
		for _, c := range sh.list {
			if c.closed.Load() {
				continue
			}
			at, poll := c.o.flushAt.Load(), c.o.pollAt.Load()
			if at == 0 && poll == 0 {
				// Unlist, then look again: a client that set either
				// meanwhile and found itself listed is kept.
				c.o.listed.Store(false)
				at, poll = c.o.flushAt.Load(), c.o.pollAt.Load()
				if (at == 0 && poll == 0) || !c.o.listed.CompareAndSwap(false, true) {
					continue
				}
			}
			if (at != 0 && at <= now) || (poll != 0 && poll <= now) {
				due = append(due, c)
			}
			keep = append(keep, c)
		}
		clear(sh.list[len(keep):])
		sh.list = keep
		sh.Unlock()
	}
	return due
}

func (f *outFlusher) empty() bool {
	for i := range f.shards {
		sh := &f.shards[i]
		sh.Lock()
		n := len(sh.list)
		sh.Unlock()
		if n > 0 {
			return false
		}
	}
	return true
}
