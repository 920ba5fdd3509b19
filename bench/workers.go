package bench

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/nsqfast/nsq/bench/hist"
	"github.com/nsqfast/nsq/wire"
)

// Publisher publishes on one Conn from one goroutine: closed-loop (the next
// command as soon as the window allows) or open-loop at a fixed rate. Each
// body carries its publish time and sequence number (see Stamp).
type Publisher struct {
	Topic string
	// Topics, if not empty, replaces Topic: command i goes to
	// Topics[i%len(Topics)] (the topics sweep spreads one connection's
	// publishes over many topics).
	Topics []string
	// Size is the body size in bytes.
	Size int
	// Batch is the number of messages per command: 1 sends PUB, more MPUB.
	// Default 1.
	Batch int
	// Window is the number of commands written before waiting for an answer
	// (pipelining). Default 1: one command per round trip.
	Window int
	// Rate, if positive, is the messages per second this connection sends
	// (open loop: sends are scheduled from the start time and do not wait
	// for answers, up to Window in flight).
	Rate float64
	// Seq is the first sequence number; SeqStep (default 1) separates
	// consecutive messages, so publishers can interleave.
	Seq, SeqStep uint64
	// Limit, if positive, is the number of messages to publish.
	Limit int64
	// Acks, if not nil, records each command's time from its write to its
	// OK, in nanoseconds.
	Acks *hist.Histogram

	// Published counts the messages acknowledged so far.
	Published Counter
}

// Run publishes until stop is set or Limit messages are acknowledged. It
// returns the first error, including an error frame.
func (p *Publisher) Run(c *Conn, stop *atomic.Bool) error {
	batch, window := max(p.Batch, 1), max(p.Window, 1)
	step := max(p.SeqStep, 1)
	block := make([]byte, batch*p.Size)
	bodies := make([][]byte, batch)
	pattern := NewBody(p.Size)
	for i := range bodies {
		bodies[i] = block[i*p.Size : (i+1)*p.Size : (i+1)*p.Size]
		copy(bodies[i], pattern)
	}
	sentAt := make([]int64, window) // ring: write time of each command in flight
	sentN := make([]int, window)    // and its message count
	head, inflight := 0, 0
	var issued int64
	cmds := 0 // commands written, for Topics
	seq := p.Seq
	nsPerMsg := 0.0
	if p.Rate > 0 {
		nsPerMsg = 1e9 / p.Rate
	}
	start := Now()
	deadlineSet := false
	for {
		stopping := stop.Load() || (p.Limit > 0 && issued >= p.Limit)
		nextDue := int64(0) // when rate-limited and the window has room: when the next command is due
		for !stopping && inflight < window {
			n := batch
			if p.Limit > 0 {
				n = int(min(int64(n), p.Limit-issued))
			}
			now := Now()
			if nsPerMsg > 0 {
				// A command is due when its last message is due; the
				// first goes at once.
				due := start + int64(float64(issued+int64(n)-1)*nsPerMsg)
				if due > now {
					nextDue = due
					break
				}
			}
			for i := range n {
				Stamp(bodies[i], now, seq)
				seq += step
			}
			topic := p.Topic
			if len(p.Topics) > 0 {
				topic = p.Topics[cmds%len(p.Topics)]
				cmds++
			}
			var err error
			if batch == 1 {
				err = c.PUB(topic, bodies[0])
			} else {
				err = c.MPUB(topic, bodies[:n])
			}
			if err != nil {
				return err
			}
			slot := (head + inflight) % window
			sentAt[slot], sentN[slot] = now, n
			inflight++
			issued += int64(n)
			stopping = p.Limit > 0 && issued >= p.Limit
		}
		if inflight == 0 {
			if stopping {
				return c.Flush()
			}
			// Rate-limited with nothing in flight: wait for the next due time.
			if err := c.Flush(); err != nil {
				return err
			}
			time.Sleep(time.Duration(nextDue - Now()))
			continue
		}
		if nextDue > 0 && !c.Buffered() {
			// Wait for an answer, but no longer than the next send.
			if err := c.SetReadDeadline(time.Now().Add(time.Duration(nextDue - Now()))); err != nil {
				return err
			}
			deadlineSet = true
		} else if deadlineSet {
			if err := c.SetReadDeadline(time.Time{}); err != nil {
				return err
			}
			deadlineSet = false
		}
		ft, data, err := c.Next()
		if err != nil {
			if deadlineSet && errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return err
		}
		if err := CheckOK(ft, data); err != nil {
			return err
		}
		if p.Acks != nil {
			p.Acks.Record(c.ReadTime() - sentAt[head])
		}
		p.Published.Add(int64(sentN[head]))
		head = (head + 1) % window
		inflight--
	}
}

// Consumer subscribes on one Conn and finishes every message it receives,
// from one goroutine.
type Consumer struct {
	Topic, Channel string
	// RDY is the ready count sent after SUB. Default 1.
	RDY int64
	// Latency, if not nil, records each message's time from its publish
	// stamp to the read that brought it in, in nanoseconds.
	Latency *hist.Histogram
	// Seen, if not nil, marks each message's sequence number.
	Seen *Bitmap

	// Received counts messages received (and finished).
	Received Counter
	// Last is ReadTime of the latest message.
	Last atomic.Int64
}

// Subscribe sends SUB and waits for its OK, then sends RDY. Run calls it;
// it is separate for callers that must know every consumer is subscribed
// before they publish.
func (s *Consumer) Subscribe(c *Conn) error {
	if err := c.SUB(s.Topic, s.Channel); err != nil {
		return err
	}
	if err := c.ExpectOK(); err != nil {
		return err
	}
	if err := c.RDY(max(s.RDY, 1)); err != nil {
		return err
	}
	return c.Flush()
}

// Run finishes messages until stop is set and the connection's read ends
// (the caller sets a past read deadline or closes it); it then returns nil.
// An error frame or a read error without stop is returned.
func (s *Consumer) Run(c *Conn, stop *atomic.Bool) error {
	for {
		ft, data, err := c.Next()
		if err != nil {
			if stop.Load() {
				return nil
			}
			return err
		}
		switch ft {
		case wire.FrameTypeMessage:
		case wire.FrameTypeError:
			return wire.FrameError(data)
		default:
			continue
		}
		m, ok := wire.ParseMessage(data)
		if !ok {
			return errors.New("bench: short message frame")
		}
		if err := c.FIN(&m.ID); err != nil {
			return err
		}
		if s.Latency != nil || s.Seen != nil {
			if at, seq, ok := ReadStamp(m.Body); ok {
				if s.Latency != nil {
					s.Latency.Record(c.ReadTime() - at)
				}
				if s.Seen != nil {
					s.Seen.Set(seq)
				}
			}
		}
		s.Received.Add(1)
		s.Last.Store(c.ReadTime())
	}
}

// Interrupt makes a goroutine blocked in c's Next return at once; used with
// stop to end a Consumer.
func Interrupt(c *Conn) { _ = c.SetReadDeadline(time.Unix(1, 0)) }

// Seconds converts monotonic nanoseconds to seconds.
func Seconds(ns int64) float64 { return float64(ns) / 1e9 }
