package engine

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/wire"
)

// Subscription is one consumer's membership of a channel: its RDY count,
// what it has in flight and its counters. Safe for concurrent use; in
// practice its consumer's connection drives it.
type Subscription struct {
	c    *Channel
	cons Consumer

	// guarded by c.mu
	ready      int64
	inflight   int64
	msgTimeout int64 // ns
	sampleRate int32
	touched    bool
	closed     bool
	// stalled: the consumer's SendMessage said its output is over its
	// high-water mark; nothing is delivered to it until Resume.
	stalled bool
	// timeouts are its in-flight messages' deadlines, in order (see
	// timeoutItem); compactAt is the length that triggers a compaction.
	timeouts  queue.Ring[timeoutItem]
	compactAt int

	messageCount atomic.Uint64
	finishCount  atomic.Uint64
	requeueCount atomic.Uint64
}

// SubscribeOptions are a consumer's negotiated settings.
type SubscribeOptions struct {
	// MsgTimeout is the in-flight timeout; 0 means Options.MsgTimeout.
	MsgTimeout time.Duration
	// SampleRate, 1-99, delivers only about that percentage of messages
	// (the rest are dropped for this consumer, as upstream); 0 = all.
	SampleRate int32
}

// Subscribe adds a consumer to the channel. It starts with RDY 0.
func (c *Channel) Subscribe(cons Consumer, so SubscribeOptions) (*Subscription, error) {
	mt := so.MsgTimeout
	if mt <= 0 {
		mt = c.t.e.opts.MsgTimeout
	}
	s := &Subscription{c: c, cons: cons, msgTimeout: int64(mt), sampleRate: so.SampleRate, compactAt: minTimeoutCompact}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return nil, ErrExiting
	}
	if max := c.t.e.opts.MaxChannelConsumers; max > 0 && len(c.mu.subs) >= max {
		return nil, fmt.Errorf("%w: channel consumers for %s:%s exceeds limit of %d", ErrTooManyConsumer, c.t.name, c.name, max)
	}
	c.mu.subs = append(c.mu.subs, s)
	return s, nil
}

// Channel returns the subscribed channel.
func (s *Subscription) Channel() *Channel { return s.c }

// SetReady sets the consumer's RDY count and delivers what it allows.
func (s *Subscription) SetReady(n int64) {
	c := s.c
	c.mu.Lock()
	if !s.closed {
		s.ready = n
		c.dispatchLocked()
	}
	c.mu.Unlock()
}

// Resume lifts a stall (the consumer's SendMessage returned false) once
// its output has drained, and delivers what its RDY count allows. Safe for
// concurrent use; it takes the channel's lock, so the consumer must not
// hold a lock of its own that SendMessage takes.
func (s *Subscription) Resume() {
	c := s.c
	c.mu.Lock()
	if s.stalled && !s.closed {
		s.stalled = false
		c.dispatchLocked()
	}
	c.mu.Unlock()
}

// Finish acknowledges an in-flight message.
func (s *Subscription) Finish(id []byte) error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := s.finishLocked(id); err != nil {
		return err
	}
	c.dispatchLocked()
	return nil
}

// FinishAll finishes ids in order, as many FINs, under one acquisition
// of the channel's lock and with one delivery round at the end; errs[i]
// is set to the error of ids[i] (nil when it was finished). errs must be
// as long as ids.
//
// Why: a consumer's FINs arrive in bursts (one per message it handled
// since its last write), and FIN by FIN the channel's lock was taken and
// given back, and a delivery round run, once per message; in the drain
// target the event loops spent 1.9 s of 4 s parked on that lock
// (fgprof).
func (s *Subscription) FinishAll(ids []wire.MessageID, errs []error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	done := false
	for i := range ids {
		errs[i] = s.finishLocked(ids[i][:])
		done = done || errs[i] == nil
	}
	if done {
		c.dispatchLocked()
	}
}

func (s *Subscription) finishLocked(id []byte) error {
	c := s.c
	slot, err := c.takeLocked(s, id)
	if err != nil {
		return err
	}
	c.fin.finished(c.mu.entries[slot].pubTS)
	c.freeEntryLocked(slot)
	s.finishCount.Add(1)
	return nil
}

// Requeue puts an in-flight message back, to be delivered again after delay
// (0 = at once).
func (s *Subscription) Requeue(id []byte, delay time.Duration) error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	slot, err := c.takeLocked(s, id)
	if err != nil {
		return err
	}
	s.requeueCount.Add(1)
	c.requeueCount.Add(1)
	e := &c.mu.entries[slot]
	if c.attemptsUsedLocked(e) {
		c.toDeadLetterLocked(slot) // whatever the delay
	} else if delay <= 0 {
		e.state = stReady
		c.mu.ready.PushGrow(slot)
	} else {
		at := time.Now().UnixNano() + int64(delay)
		e.state = stDeferred
		e.heap = c.mu.deferred.Push(slot, at)
		// The delay survives a crash: the message goes to the journal.
		if payload, ok := c.payloadLocked(e); ok {
			c.journalLocked(slot, at, payload)
		}
	}
	c.dispatchLocked()
	return nil
}

// Touch resets an in-flight message's timeout, capped at MaxMsgTimeout
// after its delivery, as upstream.
func (s *Subscription) Touch(id []byte) error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	slot, err := c.findLocked(s, id)
	if err != nil {
		return err
	}
	e := &c.mu.entries[slot]
	// The engine's clock, as at delivery, keeps each consumer's deadlines
	// in order.
	deadline := c.t.e.now() + s.msgTimeout
	if maxTO := int64(c.t.e.opts.MaxMsgTimeout); deadline-e.deliveredAt >= maxTO {
		deadline = e.deliveredAt + maxTO
	}
	if deadline != e.deadline {
		c.armLocked(s, slot, deadline)
	}
	return nil
}

// ReadyCount returns the consumer's RDY count.
func (s *Subscription) ReadyCount() int64 {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.ready
}

// InFlightCount returns how many messages the consumer holds.
func (s *Subscription) InFlightCount() int64 {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.inflight
}

// Counts returns the consumer's message, finish and requeue counts.
func (s *Subscription) Counts() (messages, finished, requeued uint64) {
	return s.messageCount.Load(), s.finishCount.Load(), s.requeueCount.Load()
}

// Close removes the consumer. Its in-flight messages are requeued at once
// (upstream waits for their timeout; see docs/COMPATIBILITY.md). The last
// consumer leaving an ephemeral channel deletes it.
func (s *Subscription) Close() {
	c := s.c
	c.mu.Lock()
	if s.closed {
		c.mu.Unlock()
		return
	}
	s.closed = true
	for i, x := range c.mu.subs {
		if x == s {
			c.mu.subs = append(c.mu.subs[:i], c.mu.subs[i+1:]...)
			break
		}
	}
	if s.inflight > 0 {
		for i := range c.mu.entries {
			e := &c.mu.entries[i]
			if e.state == stInFlight && e.sub == s {
				c.landLocked(e)
				e.state = stReady
				c.mu.ready.PushGrow(int32(i))
				c.requeueCount.Add(1)
			}
		}
	}
	s.timeouts.Reset()
	left := len(c.mu.subs)
	c.dispatchLocked()
	c.mu.Unlock()
	if left == 0 && c.ephemeral && IsEphemeralName(c.name) {
		go c.t.deleteChannelIf(c)
	}
}
