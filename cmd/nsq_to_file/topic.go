package main

import (
	"fmt"
	"time"

	"github.com/nsqio/go-nsq"
)

// topicLogger consumes one topic and writes its messages to an outFile.
// Its router goroutine owns the file; the consumer's handler goroutine
// hands it each message. A message is acknowledged (FIN) only once it is
// synced to disk: after --max-in-flight messages, every --sync-interval,
// when the consumer is starved, and on every rotation, SIGHUP and stop.
type topicLogger struct {
	topic    string
	opts     *Options
	logf     logFunc
	out      *outFile
	consumer *nsq.Consumer

	msgs chan *nsq.Message // handler -> router
	hup  chan struct{}     // close the file (a pending SIGHUP; capacity 1)
	term chan struct{}     // closed to stop
	dead chan struct{}     // closed when the router has returned
}

// HandleMessage passes m to the router, which answers it; once the
// router has gone, m is requeued.
func (t *topicLogger) HandleMessage(m *nsq.Message) error {
	m.DisableAutoResponse()
	select {
	case t.msgs <- m:
	case <-t.dead:
		m.RequeueWithoutBackoff(0)
	}
	return nil
}

// closeFile asks the router to close its file (SIGHUP).
func (t *topicLogger) closeFile() {
	select {
	case t.hup <- struct{}{}:
	default: // one is pending already
	}
}

// router writes messages, rotates and syncs the file until the consumer
// has stopped (after term is closed). An error is fatal: the messages
// not yet synced are requeued, the consumer stopped, and the error
// returned once it has.
func (t *topicLogger) router() error {
	err := t.route()
	close(t.dead)
	if err != nil {
		t.consumer.Stop()
		<-t.consumer.StopChan
		return fmt.Errorf("[%s/%s] %w", t.topic, t.opts.Channel, err)
	}
	return nil
}

func (t *topicLogger) route() error {
	pending := make([]*nsq.Message, 0, max(t.opts.MaxInFlight, 1))
	defer func() {
		for _, m := range pending { // only after an error
			m.RequeueWithoutBackoff(0)
		}
	}()
	ticker := time.NewTicker(t.opts.SyncInterval)
	defer ticker.Stop()
	tick, term := ticker.C, t.term
	stopping := false
	for {
		var syncNow, closeNow, exit bool
		select {
		case <-t.consumer.StopChan:
			syncNow, closeNow, exit = true, true, true
		case <-term:
			term, tick = nil, nil
			t.consumer.Stop()
			stopping, syncNow = true, true
		case <-t.hup:
			syncNow, closeNow = true, true
		case <-tick:
			var err error
			if closeNow, err = t.out.tick(); err != nil {
				return err
			}
			syncNow = true
		case m := <-t.msgs:
			pending = append(pending, m) // answered whatever happens next
			if t.out.needsRotation() {
				if err := t.out.rotate(); err != nil {
					return err
				}
				syncNow = true
			}
			if err := t.out.write(m.Body); err != nil {
				return fmt.Errorf("writing message to disk: %w", err)
			}
			if err := t.out.write(newline); err != nil {
				return fmt.Errorf("writing newline to disk: %w", err)
			}
			syncNow = syncNow || len(pending) >= cap(pending)
		}
		// While stopping, every message is synced at once: the consumer
		// stops only when all it delivered are answered.
		if (syncNow || stopping || t.consumer.IsStarved()) && len(pending) > 0 {
			t.logf(levelInfo, "[%s/%s] syncing %d records to disk", t.topic, t.opts.Channel, len(pending))
			if err := t.out.sync(); err != nil {
				return fmt.Errorf("failed syncing messages: %w", err)
			}
			for i, m := range pending {
				m.Finish()
				pending[i] = nil
			}
			pending = pending[:0]
		}
		if closeNow {
			if err := t.out.close(); err != nil {
				return err
			}
		}
		if exit {
			return nil
		}
	}
}

var newline = []byte{'\n'}
