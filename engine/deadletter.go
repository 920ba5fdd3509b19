package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/nsqfast/nsq/wire"
)

// Message TTL and dead-letter topics (ours; upstream has neither).
//
// A topic's TTL (Options.MsgTTL, or its own SetTTL) bounds how long a
// message may wait: a channel does not deliver a message published longer
// ago, it counts it as expired. The check is made where a message is about
// to be delivered (from the log, requeued, released from deferral), when a
// DPUB is taken into the deferred set (one due after its TTL expires at
// once), and by the scan loop at the head of every channel, so that an
// idle channel's depth falls and its segments can go.
//
// A channel's max attempts (Options.MaxAttempts, or its own
// SetDeadLetter) bounds how often it delivers a message: one that comes
// back (REQ, timeout) after that many deliveries is taken out of the
// channel (state stDead) and, by the scan loop, appended to the channel's
// dead-letter topic with its publish time, a fresh ID, and in its header
// the ID it had and the attempts it took (PeekedMessage.DeadLetter). Only
// once that append is in the log (and durable, as --sync-every requires
// of a publish) does the channel forget the message; a crash in between
// delivers it to the dead-letter topic again (at least once, as
// everything in NSQ).

// ErrDeadLetterTopic is returned by SetDeadLetter for a topic name that is
// not valid or is the channel's own topic.
var ErrDeadLetterTopic = errors.New("invalid dead-letter topic")

// DeadLetterTopicName is the topic a channel's dead letters go to when it
// names none: "<topic>.<channel>.dead", or if that is no valid topic name
// (too long), "<topic>.dead", or "dead"; #ephemeral is left out (dead
// letters are kept).
func DeadLetterTopicName(topic, channel string) string {
	t := strings.TrimSuffix(topic, "#ephemeral")
	c := strings.TrimSuffix(channel, "#ephemeral")
	for _, n := range []string{t + "." + c + ".dead", t + ".dead"} {
		if wire.IsValidTopicName([]byte(n)) {
			return n
		}
	}
	return "dead"
}

// SetTTL sets the topic's own message TTL (0: messages never expire),
// instead of the engine's default. Kept in the topic's metadata.
func (t *Topic) SetTTL(d time.Duration) { t.setTTL(int64(d), true) }

// ResetTTL makes the topic follow the engine's default TTL again.
func (t *Topic) ResetTTL() { t.setTTL(0, false) }

func (t *Topic) setTTL(ns int64, own bool) {
	t.mu.Lock()
	if own {
		t.mu.ttl = &ns
	} else {
		t.mu.ttl = nil
	}
	t.applyTTLLocked()
	t.mu.metaDirty = true
	t.mu.Unlock()
	t.e.kickSync()
}

// applyTTLLocked publishes the effective TTL to the channels.
func (t *Topic) applyTTLLocked() {
	if t.mu.ttl != nil {
		t.ttl.Store(max(*t.mu.ttl, 0))
	} else {
		t.ttl.Store(int64(t.e.opts.MsgTTL))
	}
}

// TTL returns the topic's effective message TTL (0: forever) and whether it
// is the topic's own setting rather than the engine's default.
func (t *Topic) TTL() (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Duration(t.ttl.Load()), t.mu.ttl != nil
}

// SetDeadLetter sets the channel's own max attempts (0: no limit) and
// dead-letter topic ("": DeadLetterTopicName), instead of the engine's
// default. Kept in the channel's checkpoint.
func (c *Channel) SetDeadLetter(maxAttempts uint16, topic string) error {
	if topic != "" && (!wire.IsValidTopicName([]byte(topic)) || topic == c.t.name) {
		return ErrDeadLetterTopic
	}
	c.mu.Lock()
	c.mu.maxAttempts = &maxAttempts
	c.mu.deadTopic = topic
	c.mu.isNew = true // checkpoint at the next sync step
	c.mu.Unlock()
	c.t.e.kickSync()
	return nil
}

// ResetDeadLetter makes the channel follow the engine's default max
// attempts again, with the default dead-letter topic.
func (c *Channel) ResetDeadLetter() {
	c.mu.Lock()
	c.mu.maxAttempts = nil
	c.mu.deadTopic = ""
	c.mu.isNew = true
	c.mu.Unlock()
	c.t.e.kickSync()
}

// DeadLetter returns the channel's effective max attempts (0: no limit),
// its dead-letter topic, and whether they are its own setting.
func (c *Channel) DeadLetter() (maxAttempts uint16, topic string, own bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxAttemptsLocked(), c.deadTopicLocked(), c.mu.maxAttempts != nil
}

func (c *Channel) maxAttemptsLocked() uint16 {
	if c.mu.maxAttempts != nil {
		return *c.mu.maxAttempts
	}
	return c.t.e.opts.MaxAttempts
}

func (c *Channel) deadTopicLocked() string {
	if c.mu.deadTopic != "" {
		return c.mu.deadTopic
	}
	return DeadLetterTopicName(c.t.name, c.name)
}

// expired reports whether a message published at ts has outlived the
// topic's TTL at when.
func (c *Channel) expired(ts, when int64) bool {
	ttl := c.t.ttl.Load()
	return ttl > 0 && when-ts > ttl
}

// retireLocked takes a requeued message about to be delivered again out of
// the channel when it has expired or used up its attempts. It reports
// whether it did.
func (c *Channel) retireLocked(slot int32, payload []byte, now int64) bool {
	e := &c.mu.entries[slot]
	if ts, _, _, ok := decodeHeader(payload); ok && c.expired(ts, now) {
		c.freeEntryLocked(slot)
		c.expiredCount.Add(1)
		return true
	}
	if c.attemptsUsedLocked(e) {
		c.toDeadLetterLocked(slot)
		return true
	}
	return false
}

// attemptsUsedLocked reports whether a message back from flight has used
// up its attempts.
func (c *Channel) attemptsUsedLocked(e *entry) bool {
	max := c.maxAttemptsLocked()
	return max > 0 && e.attempts >= max
}

// toDeadLetterLocked holds slot for the move to the dead-letter topic.
func (c *Channel) toDeadLetterLocked(slot int32) {
	c.mu.entries[slot].state = stDead
	c.mu.dead = append(c.mu.dead, slot)
}

// expireIdleLocked counts and passes over the expired messages at the
// head of the channel (the log at the cursor, and the requeued ones), for
// channels that deliver nothing (no consumer, RDY 0, paused).
func (c *Channel) expireIdleLocked(now int64) {
	if c.t.ttl.Load() <= 0 {
		return
	}
	for n := c.mu.ready.Len(); n > 0; n-- {
		slot, _ := c.mu.ready.Pop()
		if p, ok := c.payloadLocked(&c.mu.entries[slot]); ok {
			if ts, _, _, ok := decodeHeader(p); ok && c.expired(ts, now) {
				c.freeEntryLocked(slot)
				c.expiredCount.Add(1)
				continue
			}
		}
		c.mu.ready.PushGrow(slot)
	}
	limit := c.t.limitSeq.Load()
	for {
		rec, ok := c.readCursorLocked(limit)
		if !ok {
			return
		}
		ts, at, _, ok := decodeHeader(rec.Data)
		if !ok || at > now || !c.expired(ts, now) {
			return
		}
		c.mu.cursor = rec.Next
		c.expiredCount.Add(1)
	}
}

// deadMove is one message on its way to the dead-letter topic.
type deadMove struct {
	slot     int32
	seq      uint64
	ts       int64
	id       uint64
	attempts uint16
	body     []byte
}

// moveDeadLetters appends the messages held for the dead-letter topic to
// it, then lets the channel forget them. Called by the scan loop, with no
// lock held: the append takes another topic's lock, and may wait for a
// sync. What cannot be moved now (the disk refuses) is tried again at the
// next scan.
func (c *Channel) moveDeadLetters() {
	c.mu.Lock()
	if c.mu.closed || len(c.mu.dead) == 0 {
		c.mu.Unlock()
		return
	}
	target := c.deadTopicLocked()
	moves := make([]deadMove, 0, len(c.mu.dead))
	for _, slot := range c.mu.dead {
		if int(slot) >= len(c.mu.entries) || c.mu.entries[slot].state != stDead {
			continue
		}
		e := &c.mu.entries[slot]
		p, ok := c.payloadLocked(e)
		if !ok {
			c.freeEntryLocked(slot) // gone with its segment (an empty)
			continue
		}
		ts, _, body, _ := decodeHeader(p)
		moves = append(moves, deadMove{slot, e.pos.Seq, ts, c.t.messageID(p, e.pos.Seq), e.attempts, bytes.Clone(body)})
	}
	c.mu.dead = c.mu.dead[:0]
	c.mu.Unlock()

	done := 0
	dt, err := c.t.e.GetTopic(target)
	if err == nil {
		var tk Ticket
		for _, m := range moves {
			var t Ticket
			if t, err = dt.putDeadLetter(m.body, m.ts, m.id, m.attempts); err != nil {
				break
			}
			tk = max(tk, t)
			done++
		}
		dt.Notify()
		if werr := dt.WaitDurable(tk); err == nil && werr != nil {
			err, done = werr, 0
		}
	}
	if err != nil {
		c.t.e.logf(LogError, "CHANNEL(%s:%s): moving %d message(s) to dead-letter topic %s: %s (trying again)",
			c.t.name, c.name, len(moves)-done, target, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range moves {
		if int(m.slot) >= len(c.mu.entries) {
			continue
		}
		e := &c.mu.entries[m.slot]
		if e.state != stDead || e.pos.Seq != m.seq {
			continue // the channel was emptied meanwhile
		}
		if i < done {
			c.freeEntryLocked(m.slot)
			c.deadLetterCount.Add(1)
		} else {
			c.mu.dead = append(c.mu.dead, m.slot)
		}
	}
	if done > 0 {
		c.t.e.logf(LogInfo, "CHANNEL(%s:%s): %d message(s) moved to dead-letter topic %s", c.t.name, c.name, done, target)
	}
}

// putDeadLetter appends a dead letter: body with its original publish time
// ts, a fresh ID, and the ID and attempts it had in its channel.
func (t *Topic) putDeadLetter(body []byte, ts int64, origID uint64, attempts uint16) (Ticket, error) {
	var h [deadLetterHeaderLen]byte
	binary.LittleEndian.PutUint64(h[0:8], uint64(ts)|recordHasID|recordDeadLetter)
	binary.LittleEndian.PutUint64(h[24:32], origID)
	binary.LittleEndian.PutUint16(h[32:34], attempts)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.closed {
		return 0, ErrExiting
	}
	if t.dropLocked() {
		return 0, nil
	}
	return t.appendOneLocked(h[:], body)
}

// DeadLetterInfo is what a dead letter's header records of where it came
// from.
type DeadLetterInfo struct {
	// ID is the message's ID in the channel it left.
	ID wire.MessageID
	// Attempts is how often that channel had delivered it.
	Attempts uint16
}

// deadLetterInfo reads a dead letter's header; ok is false for any other
// record.
func deadLetterInfo(rec []byte) (DeadLetterInfo, bool) {
	if len(rec) < deadLetterHeaderLen {
		return DeadLetterInfo{}, false
	}
	w0 := binary.LittleEndian.Uint64(rec[0:8])
	if w0&recordHasID == 0 || w0&recordDeadLetter == 0 {
		return DeadLetterInfo{}, false
	}
	return DeadLetterInfo{
		ID:       wire.IDFromUint64(binary.LittleEndian.Uint64(rec[24:32])),
		Attempts: binary.LittleEndian.Uint16(rec[32:34]),
	}, true
}
