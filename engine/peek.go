package engine

import (
	"errors"
	"sort"

	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/wire"
)

// Message states reported by Peek.
const (
	PeekReady    = "ready"     // the channel would deliver it next, in this order
	PeekInFlight = "in_flight" // delivered, neither finished nor timed out yet
	PeekDeferred = "deferred"  // deliverable at DueAt
)

// PeekOptions selects what Peek lists.
type PeekOptions struct {
	// N is how many messages to list; at most MaxPeek. 0 means 1.
	N int
	// Skip leaves out the first Skip messages of the listing (paging). At
	// most MaxPeekSkip.
	Skip int
	// Held also lists the in-flight and the deferred messages, after the
	// ready ones: in flight by delivery time, then deferred by due time.
	Held bool
	// MaxBody cuts each Body to this many bytes (Size keeps the whole
	// size). 0 means no cut.
	MaxBody int
}

// Bounds of PeekOptions: a peek reads the log while it holds the channel's
// lock, so it must stay short.
const (
	MaxPeek     = 1000
	MaxPeekSkip = 100000
)

// PeekedMessage is one message as Peek shows it. Body is a copy.
type PeekedMessage struct {
	ID        wire.MessageID
	Timestamp int64 // publish time, ns since the epoch
	Attempts  uint16
	State     string
	// DueAt is, for a deferred message, when it becomes deliverable; for
	// one in flight, when it times out (ns since the epoch); else 0.
	DueAt int64
	Size  int // of the whole body
	Body  []byte
	// DeadLetter is set for a message of a dead-letter topic: where it
	// came from.
	DeadLetter *DeadLetterInfo
}

// ErrPeekRange is returned for N or Skip out of their bounds.
var ErrPeekRange = errors.New("peek: n or skip out of range")

func (o *PeekOptions) check() error {
	if o.N == 0 {
		o.N = 1
	}
	if o.N < 0 || o.N > MaxPeek || o.Skip < 0 || o.Skip > MaxPeekSkip {
		return ErrPeekRange
	}
	return nil
}

// peekList gathers a listing, applying Skip and N.
type peekList struct {
	o    PeekOptions
	skip int
	out  []PeekedMessage
}

func (l *peekList) full() bool { return len(l.out) >= l.o.N }

// add lists one record (payload is a log record: header and body).
func (l *peekList) add(t *Topic, payload []byte, seq uint64, attempts uint16, state string, due int64) {
	if l.full() {
		return
	}
	if l.skip > 0 {
		l.skip--
		return
	}
	ts, _, body, ok := decodeHeader(payload)
	if !ok {
		return
	}
	size := len(body)
	if l.o.MaxBody > 0 && len(body) > l.o.MaxBody {
		body = body[:l.o.MaxBody]
	}
	var dl *DeadLetterInfo
	if info, ok := deadLetterInfo(payload); ok {
		dl = &info
	}
	l.out = append(l.out, PeekedMessage{
		DeadLetter: dl,
		ID:         wire.IDFromUint64(t.messageID(payload, seq)),
		Timestamp:  ts,
		Attempts:   attempts,
		State:      state,
		DueAt:      due,
		Size:       size,
		Body:       append([]byte(nil), body...),
	})
}

// Peek lists the messages the channel would deliver next, in the order it
// would deliver them (requeued ones first, then the log from the cursor),
// and with o.Held those it holds in flight or deferred. It changes
// nothing: no attempt is counted, the cursor stays, no message is held.
func (c *Channel) Peek(o PeekOptions) ([]PeekedMessage, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	l := peekList{o: o, skip: o.Skip}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return nil, ErrExiting
	}
	now := c.t.e.now()
	for i := 0; i < c.mu.ready.Len() && !l.full(); i++ {
		slot := c.mu.ready.At(i)
		e := &c.mu.entries[slot]
		if p, ok := c.payloadLocked(e); ok {
			l.add(c.t, p, e.pos.Seq, e.attempts, PeekReady, 0)
		}
	}
	c.t.walkLog(c.mu.cursor, c.t.limitSeq.Load(), c.mu.skipSeqs, func(rec queue.Record, at int64) bool {
		if at > now {
			// a DPUB the cursor has not reached: deferred, not next
			if o.Held {
				l.add(c.t, rec.Data, rec.Pos.Seq, 0, PeekDeferred, at)
			}
		} else {
			l.add(c.t, rec.Data, rec.Pos.Seq, 0, PeekReady, 0)
		}
		return !l.full()
	})
	if !o.Held || l.full() {
		return l.out, nil
	}
	var held []int32
	for i := range c.mu.entries {
		if s := c.mu.entries[i].state; s == stInFlight || s == stDeferred {
			held = append(held, int32(i))
		}
	}
	sort.Slice(held, func(i, j int) bool {
		a, b := &c.mu.entries[held[i]], &c.mu.entries[held[j]]
		if a.state != b.state {
			return a.state == stInFlight
		}
		if a.state == stInFlight {
			return a.deliveredAt < b.deliveredAt
		}
		return c.mu.deferred.Key(a.heap) < c.mu.deferred.Key(b.heap)
	})
	for _, slot := range held {
		e := &c.mu.entries[slot]
		p, ok := c.payloadLocked(e)
		if !ok {
			continue
		}
		if e.state == stInFlight {
			l.add(c.t, p, e.pos.Seq, e.attempts, PeekInFlight, e.deadline)
		} else {
			l.add(c.t, p, e.pos.Seq, e.attempts, PeekDeferred, c.mu.deferred.Key(e.heap))
		}
		if l.full() {
			break
		}
	}
	return l.out, nil
}

// Peek lists the messages the topic holds for its slowest channel: from the
// lowest cursor of its channels (with no channel, from where the first
// channel will start) up to its head, in log order. Requeued, in-flight
// and deferred messages of the channels are listed by Channel.Peek, not
// here. It changes nothing.
func (t *Topic) Peek(o PeekOptions) ([]PeekedMessage, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	l := peekList{o: o, skip: o.Skip}
	t.mu.Lock()
	start := t.mu.holdPos
	closed := t.mu.closed
	t.mu.Unlock()
	if closed {
		return nil, ErrExiting
	}
	if chans := t.channelList(); len(chans) > 0 {
		start = queue.Pos{}
		for i, c := range chans {
			c.mu.Lock()
			if cur := c.mu.cursor; i == 0 || cur.Seq < start.Seq {
				start = cur
			}
			c.mu.Unlock()
		}
	}
	t.walkLog(start, t.log.Head().Seq, nil, func(rec queue.Record, _ int64) bool {
		l.add(t, rec.Data, rec.Pos.Seq, 0, PeekReady, 0)
		return !l.full()
	})
	return l.out, nil
}

// walkLog calls fn for each record from p up to limit that a channel would
// deliver (not in a skipped span, not in skip), with its deferred delivery
// time, until fn returns false. Corrupt records are passed over (the
// channel's own read counts them); it changes nothing.
func (t *Topic) walkLog(p queue.Pos, limit uint64, skip map[uint64]struct{}, fn func(rec queue.Record, at int64) bool) {
	for p.Seq < limit {
		if p = t.pastSkips(p); p.Seq >= limit {
			return
		}
		rec, err := t.log.Read(p)
		if err != nil && !errors.Is(err, queue.ErrCorrupt) {
			return
		}
		if rec.Next.Seq <= p.Seq {
			return
		}
		p = rec.Next
		if err != nil {
			continue
		}
		if _, dup := skip[rec.Pos.Seq]; dup {
			continue
		}
		_, at, _, ok := decodeHeader(rec.Data)
		if !ok {
			continue
		}
		if !fn(rec, at) {
			return
		}
	}
}
