// Package engine is nsqd's core: topics, channels, fan-out, RDY-aware
// dispatch, in-flight/deferred/requeue state and timeouts, pause, empty and
// delete, durable metadata and checkpoints, and the numbers /stats reports.
//
// It knows nothing of the network: consumers are reached only through the
// Consumer interface, which the TCP layer (netpoll) implements.
//
// # Storage model
//
// Every durable topic owns one append-only log (queue.Log) under
// Options.DataPath. A channel is a cursor over its topic's log plus its own
// in-flight, requeued and deferred entries, so a message fanned out to N
// channels is stored once. Ephemeral topics use an in-memory log with the
// same API.
//
// # Concurrency
//
// All exported methods are safe for concurrent use. Lock order:
// Engine.mu -> Topic.mu -> Channel.mu -> (consumer's own locks, inside
// Consumer.SendMessage). The publish path takes only its topic's lock and,
// for dispatch, each channel's lock in turn; there is no lock shared by every
// connection. Topic and channel lookups read copy-on-write snapshots held in
// atomic pointers.
package engine

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsqfast/nsq/queue"
)

// Sentinel errors.
var (
	ErrTopicNotFound   = errors.New("topic not found")
	ErrChannelNotFound = errors.New("channel not found")
	ErrExiting         = errors.New("exiting")
	ErrNotInFlight     = errors.New("ID not in flight")
	ErrNotOwner        = errors.New("client does not own message")
	ErrTooManyConsumer = errors.New("too many consumers")
)

// Engine holds every topic. Safe for concurrent use.
type Engine struct {
	opts      Options
	fs        queue.FS // opts.FS, or the operating system's
	startTime time.Time

	// topics is a copy-on-write snapshot: readers never lock.
	topics atomic.Pointer[map[string]*Topic]
	mu     sync.Mutex // serialises topic create/delete (writers of topics)

	// clock is a coarse clock (unix ns) for the delivery path. time.Now
	// costs 50ns here and dispatch ran it on every FIN and every publish
	// to every channel: 8% of the broker's CPU in a 4-channel fan-out
	// profile. It lags real time by at most clockTick, which deadlines
	// tolerate; a lagging clock can only make a deferred message later,
	// never early.
	clock atomic.Int64

	// ids hands out message-ID blocks; idNode is the node ID in the top
	// bits of every ID (msgid.go).
	ids    *idBlocks
	idNode uint64

	lockFD   int // the data path's lock (see lock)
	syncKick chan struct{}
	exitCh   chan struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool

	healthMu  sync.Mutex
	healthErr error // set from outside (SetHealth)
	appendErr error // the last append failed
	syncErr   error // the last sync step failed
	// writeBroken is set while appends fail (disk full, I/O error), so
	// that the next successful append can clear appendErr cheaply.
	writeBroken atomic.Bool
}

// New opens (or creates) the data path, restores every topic and channel
// found there and starts the background goroutines (timers, sync).
func New(opts Options) (*Engine, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		opts:      opts,
		fs:        opts.FS,
		startTime: time.Now(),
		syncKick:  make(chan struct{}, 1),
		exitCh:    make(chan struct{}),
		idNode:    uint64(opts.NodeID) << idNodeShift,
		lockFD:    -1,
	}
	if e.fs == nil {
		e.fs = queue.OS()
	}
	empty := map[string]*Topic{}
	e.topics.Store(&empty)
	if err := queue.MkdirAllFS(e.fs, e.topicsDir()); err != nil {
		return nil, fmt.Errorf("data path: %w", err)
	}
	if err := e.lock(); err != nil {
		return nil, err
	}
	if err := e.load(); err != nil {
		e.closeTopics(false)
		e.unlock()
		return nil, err
	}
	if err := e.openIDs(); err != nil {
		e.closeTopics(false)
		e.unlock()
		return nil, err
	}
	e.clock.Store(time.Now().UnixNano())
	e.wg.Add(3)
	go e.scanLoop()
	go e.syncLoop()
	go e.clockLoop()
	return e, nil
}

// lock takes an exclusive lock on the data path's topics directory, held
// until Close: the topic logs and journals are opened without locks of
// their own (queue.Options.NoLock), so that they hold no descriptor, and
// this one lock keeps a second engine off the data path.
func (e *Engine) lock() error {
	fd, err := e.fs.Open(e.topicsDir(), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("data path: %w", err)
	}
	if err := e.fs.Flock(fd); err != nil {
		_ = e.fs.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("data path %s: %w", e.opts.DataPath, queue.ErrLocked)
		}
		return fmt.Errorf("data path: flock: %w", err)
	}
	e.lockFD = fd
	return nil
}

func (e *Engine) unlock() {
	if e.lockFD >= 0 {
		_ = e.fs.Close(e.lockFD)
		e.lockFD = -1
	}
}

// Options returns the validated options.
func (e *Engine) Options() Options { return e.opts }

// StartTime is when New returned.
func (e *Engine) StartTime() time.Time { return e.startTime }

func (e *Engine) topicsDir() string { return filepath.Join(e.opts.DataPath, "topics") }

const topicDirSuffix = ".topic"

func (e *Engine) load() error {
	ents, err := e.fs.ReadDir(e.topicsDir())
	if err != nil {
		return err
	}
	m := map[string]*Topic{}
	for _, de := range ents {
		if !de.Dir || !strings.HasSuffix(de.Name, topicDirSuffix) {
			continue
		}
		name := strings.TrimSuffix(de.Name, topicDirSuffix)
		t, err := openTopic(e, name, false)
		if err != nil {
			return fmt.Errorf("topic %s: %w", name, err)
		}
		m[name] = t
		e.logf(LogInfo, "TOPIC(%s): restored with %d channel(s)", name, len(t.Channels()))
	}
	e.topics.Store(&m)
	return nil
}

// openIDs opens the message-ID allocator above every block the restored
// topics use, and maps the records of older data paths, which carry no ID.
func (e *Engine) openIDs() error {
	var floor uint64
	for _, t := range *e.topics.Load() {
		floor = max(floor, t.usedIDBlocks())
	}
	ids, err := openIDBlocks(e.fs, e.opts.DataPath, floor, e.logf)
	if err != nil {
		return err
	}
	e.ids = ids
	for _, t := range *e.topics.Load() {
		if t.needsLegacyIDs() {
			if err := t.mapLegacyIDs(); err != nil {
				return fmt.Errorf("topic %s: %w", t.name, err)
			}
		}
	}
	return nil
}

// SetHealth records an unhealthy state (nil clears it); /ping reports it.
func (e *Engine) SetHealth(err error) {
	e.healthMu.Lock()
	e.healthErr = err
	e.healthMu.Unlock()
}

// writeFailed records a failed append: /ping turns unhealthy until an
// append succeeds again.
func (e *Engine) writeFailed(t *Topic, err error) error {
	e.logf(LogError, "TOPIC(%s) ERROR: failed to write message to log - %s", t.name, err)
	e.healthMu.Lock()
	e.appendErr = err
	e.healthMu.Unlock()
	e.writeBroken.Store(true)
	return err
}

// writeOK clears the health error of a past failed append.
func (e *Engine) writeOK() {
	if e.writeBroken.Load() && e.writeBroken.CompareAndSwap(true, false) {
		e.healthMu.Lock()
		e.appendErr = nil
		e.healthMu.Unlock()
	}
}

// Health returns nil when healthy, else the reason.
func (e *Engine) Health() error {
	e.healthMu.Lock()
	defer e.healthMu.Unlock()
	switch {
	case e.healthErr != nil:
		return e.healthErr
	case e.appendErr != nil:
		return e.appendErr
	}
	return e.syncErr
}

// GetTopic returns the named topic, creating it if needed. The name must
// already be valid (wire.IsValidTopicName).
func (e *Engine) GetTopic(name string) (*Topic, error) {
	if t := (*e.topics.Load())[name]; t != nil {
		return t, nil
	}
	return e.createTopic(name)
}

// GetTopicBytes is GetTopic for a name still in a network buffer: the lookup
// does not allocate.
func (e *Engine) GetTopicBytes(name []byte) (*Topic, error) {
	if t := (*e.topics.Load())[string(name)]; t != nil {
		return t, nil
	}
	return e.createTopic(string(name))
}

// ExistingTopic returns the named topic if it exists.
func (e *Engine) ExistingTopic(name string) (*Topic, bool) {
	t := (*e.topics.Load())[name]
	return t, t != nil
}

func (e *Engine) createTopic(name string) (*Topic, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed.Load() {
		return nil, ErrExiting
	}
	old := *e.topics.Load()
	if t := old[name]; t != nil {
		return t, nil
	}
	t, err := openTopic(e, name, true)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*Topic, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[name] = t
	e.topics.Store(&m)
	e.logf(LogInfo, "TOPIC(%s): created", name)
	e.kickSync()
	e.changed(TopicCreated, name, "")
	return t, nil
}

// DeleteTopic deletes a topic, its channels and its stored messages.
func (e *Engine) DeleteTopic(name string) error {
	e.mu.Lock()
	old := *e.topics.Load()
	t := old[name]
	if t == nil {
		e.mu.Unlock()
		return ErrTopicNotFound
	}
	m := make(map[string]*Topic, len(old))
	for k, v := range old {
		if k != name {
			m[k] = v
		}
	}
	e.topics.Store(&m)
	e.mu.Unlock()
	e.logf(LogInfo, "TOPIC(%s): deleting", name)
	err := t.close(true)
	e.changed(TopicDeleted, name, "")
	return err
}

// deleteTopicIf deletes t if it is still the registered topic of its name
// (used by ephemeral clean-up).
func (e *Engine) deleteTopicIf(t *Topic) {
	e.mu.Lock()
	old := *e.topics.Load()
	if old[t.name] != t {
		e.mu.Unlock()
		return
	}
	m := make(map[string]*Topic, len(old))
	for k, v := range old {
		if k != t.name {
			m[k] = v
		}
	}
	e.topics.Store(&m)
	e.mu.Unlock()
	e.logf(LogInfo, "TOPIC(%s): deleting (ephemeral, no channels left)", t.name)
	_ = t.close(true)
	e.changed(TopicDeleted, t.name, "")
}

// Topics returns every topic, sorted by name.
func (e *Engine) Topics() []*Topic {
	m := *e.topics.Load()
	out := make([]*Topic, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (e *Engine) kickSync() {
	select {
	case e.syncKick <- struct{}{}:
	default:
	}
}

// clockTick is the resolution of the coarse clock.
const clockTick = time.Millisecond

func (e *Engine) now() int64 { return e.clock.Load() }

// Now is the engine's coarse clock (unix ns, within clockTick of
// time.Now, never backwards), for the delivery path of the TCP layer.
// Safe for concurrent use.
func (e *Engine) Now() int64 { return e.clock.Load() }

func (e *Engine) clockLoop() {
	defer e.wg.Done()
	tk := time.NewTicker(clockTick)
	defer tk.Stop()
	for {
		select {
		case <-e.exitCh:
			return
		case t := <-tk.C:
			// Never backwards (a wall-clock step): each consumer's
			// deadlines must come in order (timeoutItem).
			if n := t.UnixNano(); n > e.clock.Load() {
				e.clock.Store(n)
			}
		}
	}
}

// scanLoop fires in-flight timeouts and due deferred messages.
func (e *Engine) scanLoop() {
	defer e.wg.Done()
	tk := time.NewTicker(e.opts.QueueScanInterval)
	defer tk.Stop()
	for {
		select {
		case <-e.exitCh:
			return
		case <-tk.C:
		}
		now := time.Now().UnixNano()
		for _, t := range *e.topics.Load() {
			for _, c := range t.channelList() {
				c.processTimers(now)
				c.fin.rotate(now)
				c.moveDeadLetters() // returns at once when none wait
			}
		}
	}
}

// syncLoop syncs topic logs every SyncTimeout, writes metadata and channel
// checkpoints, and deletes consumed segments. With the topics' committers
// (durable.go), which sync when publishers need it, it is the only
// goroutine that does file-system work besides start-up and deletes: no
// publisher goroutine and no event loop ever waits on a disk (a publish
// whose OK must wait for a sync waits without blocking its event loop).
func (e *Engine) syncLoop() {
	defer e.wg.Done()
	tk := time.NewTicker(e.opts.SyncTimeout)
	defer tk.Stop()
	for {
		full := false
		select {
		case <-e.exitCh:
			return
		case <-tk.C:
			full = true
		case <-e.syncKick:
		}
		var syncErr error
		if err := e.ids.refill(); err != nil {
			e.logf(LogError, "message IDs: reserving blocks failed: %s", err)
			syncErr = fmt.Errorf("sync failed: %w", err)
		}
		for _, t := range *e.topics.Load() {
			if err := t.syncStep(full); err != nil {
				e.logf(LogError, "TOPIC(%s): sync failed: %s", t.name, err)
				syncErr = fmt.Errorf("sync failed: %w", err)
			}
		}
		e.healthMu.Lock()
		e.syncErr = syncErr
		e.healthMu.Unlock()
	}
}

// Close stops background work, checkpoints every channel (in-flight
// messages are kept as pending, so they are delivered again after a
// restart) and closes every log.
func (e *Engine) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(e.exitCh)
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.closeTopics(true)
	e.unlock()
	return err
}

func (e *Engine) closeTopics(checkpoint bool) error {
	var firstErr error
	for _, t := range *e.topics.Load() {
		if checkpoint {
			if err := t.syncStep(true); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if err := t.close(false); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// backendDepth is what /stats reports as backend_depth: upstream's disk
// queue holds what its memory queue (--mem-queue-size) cannot, so dashboards
// see the depth beyond that, although every message of ours is on disk.
// Ephemeral queues have no backend.
func (e *Engine) backendDepth(depth int64, ephemeral bool) int64 {
	if ephemeral || depth <= e.opts.MemQueueSize {
		return 0
	}
	return depth - e.opts.MemQueueSize
}
