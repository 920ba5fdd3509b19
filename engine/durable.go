package engine

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Acknowledgement and group commit.
//
// A publish is in the log (mapped memory: it survives kill -9) when Put
// returns. Whether its OK may be sent at once or must wait until the log is
// on stable storage is the --sync-every rule, upstream's: a topic may be at
// most SyncEvery-1 messages ahead of its last completed sync with OKs sent.
// Put returns a Ticket: 0 when the OK may go at once, else the log head
// after the message (or batch) — the OK then waits until Log.Durable()
// reaches it. With SyncEvery=1 every OK waits.
//
// A durable topic has a committer goroutine while syncs are asked for
// (started on demand, gone when idle). It syncs the log (queue.Log.Sync:
// msync of what was appended, fsync of the directory when segments came
// or went) and then releases every waiter the sync
// covered. A waiter that arrives while a sync runs is covered by the next
// one, so any number of connections share one msync: group commit. Put asks
// for a sync as soon as a topic is half a window ahead, so with the default
// SyncEvery=2500 the sync is normally done before anyone has to wait. The
// engine's sync loop also syncs every SyncTimeout and releases waiters the
// same way.
//
// Waiting, without blocking an event loop: the TCP layer hands Await a
// preallocated SyncWaiter whose Wake (called on the committer goroutine)
// wakes its loop; WaitDurable blocks, for the HTTP API and other goroutines.
// Neither allocates in steady state.

// Ticket is what a publish's acknowledgement waits for: 0 means nothing,
// else the log must be durable up to (not including) sequence Ticket.
type Ticket uint64

// errSyncFailed wraps a failed sync for the waiters it leaves behind.
var errSyncFailed = errors.New("sync failed")

// SyncWaiter is one wait for a Ticket, owned by its user (one per
// connection), reusable once woken. Set Wake before the first Await.
type SyncWaiter struct {
	// Wake is called once the ticket is durable, or can no longer become
	// so (Err), on the goroutine that completed the sync. It must not
	// block. Nil for WaitDurable's own waiters, which use ch.
	Wake func()

	ticket uint64
	err    error
	next   *SyncWaiter
	ch     chan struct{}
}

// Err is the outcome of the wait that Wake announced: nil once the ticket
// is durable, else why it is not (the OK must not be sent).
func (w *SyncWaiter) Err() error { return w.err }

// committer is a durable topic's group-commit state.
type committer struct {
	enabled bool          // a durable topic (set at open)
	pending atomic.Bool   // a sync is asked for and not yet started
	running atomic.Bool   // a committer goroutine is live
	kick    chan struct{} // wakes a lingering committer; capacity 1
	stop    chan struct{} // closed at close
	wg      sync.WaitGroup

	mu struct {
		sync.Mutex
		head, tail *SyncWaiter // waiters in arrival order
		closed     error       // set at close: Await fails with it
		stopped    bool        // no committer goroutine starts any more
	}
}

// commitLinger is how long a committer goroutine waits for the next
// request before it exits. Starting a goroutine costs two allocations, so
// one that publishes keep asking stays (the steady state allocates
// nothing), while an idle topic holds no goroutine: 10,000 idle topics
// would otherwise hold 10,000 parked goroutines, 80 MiB of stacks at their
// usual 8 KiB.
const commitLinger = time.Second

// startCommitter enables group commit (durable topics); the goroutine
// starts with the first request.
func (t *Topic) startCommitter() {
	c := &t.sync
	c.enabled = true
	c.kick = make(chan struct{}, 1)
	c.stop = make(chan struct{})
}

// commitLoop syncs while syncs are asked for, then lingers for
// commitLinger and exits.
func (t *Topic) commitLoop() {
	c := &t.sync
	defer c.wg.Done()
	idle := time.NewTimer(commitLinger)
	defer idle.Stop()
	for {
		if c.pending.Load() {
			// Cleared before the sync reads the head: a publish
			// committed after this point asks again and gets the next
			// sync.
			c.pending.Store(false)
			_ = t.syncLog()
			continue
		}
		idle.Reset(commitLinger)
		select {
		case <-c.kick:
			continue
		case <-c.stop:
		case <-idle.C:
		}
		c.running.Store(false)
		// A request that came between the last check and the store saw
		// this goroutine running and started none: take it.
		if !c.pending.Load() || !c.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// requestSync asks for a sync unless one is already asked for and not
// started, starting the committer goroutine if none runs. Never blocks.
func (t *Topic) requestSync() {
	c := &t.sync
	if !c.enabled || c.pending.Load() || !c.pending.CompareAndSwap(false, true) {
		return
	}
	if !c.running.CompareAndSwap(false, true) {
		select { // the running one syncs before it lingers; wake it if it does
		case c.kick <- struct{}{}:
		default:
		}
		return
	}
	c.mu.Lock()
	if c.mu.stopped {
		c.running.Store(false)
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go t.commitLoop()
}

// ticketLocked applies the --sync-every rule to a publish that moved the
// log's head to head: the ticket to wait for, or 0. t.mu held, durable
// topics only.
func (t *Topic) ticketLocked(head uint64) Ticket {
	durable := t.log.Durable()
	every := uint64(t.e.opts.SyncEvery)
	ahead := head - durable
	if ahead >= (every+1)/2 {
		t.requestSync()
	}
	if ahead < every {
		return 0
	}
	return Ticket(head)
}

// syncLog makes the topic's log durable up to its head and releases the
// waiters that covers; with a failure, the waiters left are told.
func (t *Topic) syncLog() error {
	err := t.log.Sync()
	if err != nil {
		err = fmt.Errorf("%w: %w", errSyncFailed, err)
	}
	t.release(err)
	return err
}

// release wakes every waiter whose ticket is durable, and every other one
// with err when err is not nil.
func (t *Topic) release(err error) {
	c := &t.sync
	c.mu.Lock()
	durable := t.log.Durable()
	var woken, keepHead, keepTail *SyncWaiter
	for w := c.mu.head; w != nil; {
		next := w.next
		switch {
		case w.ticket <= durable:
			w.err = nil
		case err != nil:
			w.err = err
		default:
			w.next = nil
			if keepTail == nil {
				keepHead = w
			} else {
				keepTail.next = w
			}
			keepTail = w
			w = next
			continue
		}
		w.next = woken
		woken = w
		w = next
	}
	c.mu.head, c.mu.tail = keepHead, keepTail
	c.mu.Unlock()
	for w := woken; w != nil; {
		next := w.next
		w.next = nil
		w.wake()
		w = next
	}
}

func (w *SyncWaiter) wake() {
	if w.ch != nil {
		w.ch <- struct{}{}
		return
	}
	w.Wake()
}

// Await registers w to be woken once tk is durable. It returns false, and
// registers nothing, when there is nothing to wait for (tk is 0 or already
// durable: w.Err() is then nil), or when the topic is closing (w.Err() says
// so). Otherwise w.Wake will be called exactly once; w must not be reused
// before. Never blocks, never allocates; safe for concurrent use with
// different waiters.
func (t *Topic) Await(tk Ticket, w *SyncWaiter) bool {
	w.err = nil
	if tk == 0 || t.log.Durable() >= uint64(tk) {
		return false
	}
	c := &t.sync
	c.mu.Lock()
	if err := c.mu.closed; err != nil {
		c.mu.Unlock()
		w.err = err
		return false
	}
	if t.log.Durable() >= uint64(tk) {
		c.mu.Unlock()
		return false
	}
	w.ticket = uint64(tk)
	w.next = nil
	if c.mu.tail == nil {
		c.mu.head = w
	} else {
		c.mu.tail.next = w
	}
	c.mu.tail = w
	c.mu.Unlock()
	// Put asked for a sync already; asking again costs an atomic load,
	// and covers a waiter whose ticket a failed sync left behind.
	t.requestSync()
	return true
}

var blockingWaiters = sync.Pool{New: func() any { return &SyncWaiter{ch: make(chan struct{}, 1)} }}

// WaitDurable blocks until tk is durable, and returns nil, or returns why it
// cannot become so (a failed sync, the topic closing). For goroutines that
// may block (HTTP handlers, upgraded connections); never on an event loop.
// It does not allocate in steady state.
func (t *Topic) WaitDurable(tk Ticket) error {
	if tk == 0 || t.log.Durable() >= uint64(tk) {
		return nil
	}
	w := blockingWaiters.Get().(*SyncWaiter)
	if t.Await(tk, w) {
		<-w.ch
	}
	err := w.err
	w.err = nil
	blockingWaiters.Put(w)
	return err
}

// stopCommitter waits for a running committer goroutine and starts no
// other (at close).
func (t *Topic) stopCommitter() {
	c := &t.sync
	if !c.enabled {
		return
	}
	c.mu.Lock()
	c.mu.stopped = true
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
}

// closeWaiters, once the log is closed or removed, releases the waiters its
// last sync covered and fails the others with err; Await fails from then on.
func (t *Topic) closeWaiters(err error) {
	c := &t.sync
	c.mu.Lock()
	c.mu.closed = err
	c.mu.Unlock()
	t.release(err)
}
