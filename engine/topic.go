package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqfast/nsq/queue"
)

// recordHeaderLen is the engine's header inside each log record: the
// publish timestamp (ns) with recordHasID set, the deferred delivery time
// (ns, 0 = none) and the message ID (see msgid.go). Records written before
// IDs were stored have only the first two words (legacyHeaderLen) and the
// flag clear: a publish time is never negative, so its top bit is free.
//
// A dead letter (deadletter.go) has recordDeadLetter set too and a longer
// header (deadLetterHeaderLen): after the ID, the message's ID in the topic
// it came from and the attempts it had there.
const (
	recordHeaderLen     = 24
	legacyHeaderLen     = 16
	deadLetterHeaderLen = 40
	recordHasID         = 1 << 63
	recordDeadLetter    = 1 << 62
)

func encodeHeader(h *[recordHeaderLen]byte, ts, deliverAt int64) {
	binary.LittleEndian.PutUint64(h[0:8], uint64(ts)|recordHasID)
	binary.LittleEndian.PutUint64(h[8:16], uint64(deliverAt))
}

// setHeaderID puts a message ID in a header made by encodeHeader.
func setHeaderID(h *[recordHeaderLen]byte, id uint64) {
	binary.LittleEndian.PutUint64(h[16:24], id)
}

func decodeHeader(rec []byte) (ts, deliverAt int64, body []byte, ok bool) {
	if len(rec) < legacyHeaderLen {
		return 0, 0, nil, false
	}
	w0 := binary.LittleEndian.Uint64(rec[0:8])
	at := int64(binary.LittleEndian.Uint64(rec[8:16]))
	if w0&recordHasID == 0 {
		return int64(w0), at, rec[legacyHeaderLen:], true
	}
	n := recordHeaderLen
	if w0&recordDeadLetter != 0 {
		n = deadLetterHeaderLen
	}
	if len(rec) < n {
		return 0, 0, nil, false
	}
	return int64(w0 &^ (recordHasID | recordDeadLetter)), at, rec[n:], true
}

// skipRange is a span of the log that channels must not deliver: messages a
// paused topic held back and an empty discarded.
type skipRange struct {
	From queue.Pos `json:"from"`
	To   queue.Pos `json:"to"`
}

// pastSkips moves p past the skipped spans of the log it is in (messages a
// paused topic held back and an empty discarded).
func (t *Topic) pastSkips(p queue.Pos) queue.Pos {
	for _, s := range *t.skips.Load() {
		if p.Seq >= s.From.Seq && p.Seq < s.To.Seq {
			p = s.To
		}
	}
	return p
}

// channelSet is an immutable snapshot of a topic's channels.
type channelSet struct {
	byName map[string]*Channel
	list   []*Channel // sorted by name
}

// Topic is a named stream of messages. Safe for concurrent use.
type Topic struct {
	e         *Engine
	name      string
	ephemeral bool
	dir       string // "" for ephemeral topics
	log       *queue.Log
	// legacy maps the records written without an ID to IDs; set when the
	// topic is opened, read-only after (msgid.go).
	legacy *legacyIDs

	// limitSeq is the first sequence channels may not read yet: the log head
	// when unpaused, the pause point when paused.
	limitSeq atomic.Uint64
	chans    atomic.Pointer[channelSet]
	skips    atomic.Pointer[[]skipRange]

	messageCount atomic.Uint64
	messageBytes atomic.Uint64
	// corruptCount counts messages channels skipped because their records
	// failed validation (each channel counts what it skips).
	corruptCount atomic.Uint64
	// ttl is the effective message TTL in ns (0: forever): the topic's
	// own (mu.ttl) or the engine's default (deadletter.go).
	ttl atomic.Int64

	// sync is the group commit of a durable topic (durable.go).
	sync committer

	// Written by syncStep (the sync goroutine; tests call it too) and by
	// openTopic before it runs.
	metaOnDisk atomic.Bool   // topic.json exists
	chDirMade  atomic.Bool   // channels/ exists
	swept      atomic.Uint64 // activity() at the last ReleasePages
	sweptIdle  atomic.Bool   // and that call found the topic idle already

	mu struct {
		sync.Mutex
		closed    bool
		paused    bool
		pausePos  queue.Pos             // first position held back by the pause
		holdPos   queue.Pos             // where the first channel created while none exist starts
		hdr       [recordHeaderLen]byte // scratch for record headers
		metaDirty bool
		// idNext is the next message ID to hand out, idLeft how many of
		// its block are left (0: take a new block at the next append).
		idNext, idLeft uint64
		// ttl is the topic's own TTL in ns; nil: the engine's default.
		ttl *int64
	}
}

// topicMeta is the topic's metadata file.
type topicMeta struct {
	Paused   bool        `json:"paused"`
	PausePos queue.Pos   `json:"pause_pos"`
	HoldPos  queue.Pos   `json:"hold_pos"`
	Skips    []skipRange `json:"skips,omitempty"`
	// LegacyIDs maps the records written without an ID (msgid.go).
	LegacyIDs *legacyIDs `json:"legacy_ids,omitempty"`
	// TTL is the topic's own message TTL in ns (deadletter.go); absent:
	// the engine's default.
	TTL *int64 `json:"ttl,omitempty"`
}

const (
	topicMetaFile     = "topic.json"
	channelsDir       = "channels"
	channelFileSuffix = ".json"
)

// IsEphemeralName reports whether a topic or channel name ends in #ephemeral.
func IsEphemeralName(name string) bool { return strings.HasSuffix(name, "#ephemeral") }

func openTopic(e *Engine, name string, create bool) (*Topic, error) {
	t := &Topic{e: e, name: name, ephemeral: IsEphemeralName(name)}
	qopts := queue.Options{SegmentSize: e.opts.MaxBytesPerFile, InMemory: t.ephemeral, FS: e.fs}
	if !t.ephemeral {
		t.dir = filepath.Join(e.topicsDir(), name+topicDirSuffix)
		// queue.Open makes the directory; channels/ comes with the first
		// checkpoint, topic.json with the first metadata that differs
		// from a fresh topic's: a topic that only holds messages costs
		// its directory and one block per segment (docs/OPERATIONS.md).
		qopts.NoLock = true // the engine holds the data path's lock
	}
	lg, err := queue.Open(t.dir, qopts)
	if err != nil {
		return nil, err
	}
	t.log = lg
	var noSkips []skipRange
	t.skips.Store(&noSkips)
	t.chans.Store(&channelSet{byName: map[string]*Channel{}})
	t.mu.holdPos = lg.First()
	t.applyTTLLocked()
	if !t.ephemeral && !create {
		if err := t.restore(); err != nil {
			_ = lg.Close()
			return nil, err
		}
	}
	t.updateLimitLocked()
	if create {
		t.mu.metaDirty = true
	}
	if !t.ephemeral {
		t.startCommitter()
	}
	return t, nil
}

// restore reads the topic's metadata and its channels' checkpoints.
func (t *Topic) restore() error {
	var meta topicMeta
	b, err := queue.ReadFileFS(t.e.fs, filepath.Join(t.dir, topicMetaFile))
	switch {
	case err == nil:
		t.metaOnDisk.Store(true)
		if err := json.Unmarshal(b, &meta); err != nil {
			t.e.logf(LogError, "TOPIC(%s): metadata unreadable, rebuilt: %s", t.name, err)
			meta = topicMeta{HoldPos: t.log.First()}
		}
	case errors.Is(err, os.ErrNotExist):
		// Never written (a fresh topic's metadata is not), or lost.
		meta = topicMeta{HoldPos: t.log.First()}
	default:
		return err
	}
	t.mu.paused = meta.Paused
	// After a power cut the log may end before positions the metadata
	// recorded (written after a sync that did not cover them).
	t.mu.pausePos = t.log.Settle(meta.PausePos)
	t.mu.holdPos = t.log.Settle(meta.HoldPos)
	t.legacy = meta.LegacyIDs
	t.mu.ttl = meta.TTL
	t.applyTTLLocked()
	skips := meta.Skips
	t.skips.Store(&skips)

	ents, err := t.e.fs.ReadDir(filepath.Join(t.dir, channelsDir))
	switch {
	case errors.Is(err, os.ErrNotExist):
		ents = nil // made with the first channel's checkpoint
	case err != nil:
		return err
	default:
		t.chDirMade.Store(true)
	}
	set := &channelSet{byName: map[string]*Channel{}}
	// A channel exists if it has a checkpoint or a journal: a crash right
	// after its creation can leave the journal without a checkpoint.
	names := map[string]bool{} // name -> has a journal
	for _, de := range ents {
		n := de.Name
		switch {
		case !de.Dir && strings.HasSuffix(n, channelFileSuffix):
			n = strings.TrimSuffix(n, channelFileSuffix)
			names[n] = names[n] || false
		case de.Dir && strings.HasSuffix(n, journalDirSuffix):
			names[strings.TrimSuffix(n, journalDirSuffix)] = true
		}
	}
	for cname, hasJournal := range names {
		c, err := restoreChannel(t, cname, hasJournal)
		if err != nil {
			return fmt.Errorf("channel %s: %w", cname, err)
		}
		set.byName[cname] = c
		set.list = append(set.list, c)
	}
	sort.Slice(set.list, func(i, j int) bool { return set.list[i].name < set.list[j].name })
	t.chans.Store(set)
	return nil
}

// Name returns the topic's name.
func (t *Topic) Name() string { return t.name }

// Ephemeral reports whether the topic lives in memory only.
func (t *Topic) Ephemeral() bool { return t.ephemeral }

func (t *Topic) channelList() []*Channel { return t.chans.Load().list }

// updateLimitLocked recomputes limitSeq; t.mu held (or t not shared yet).
func (t *Topic) updateLimitLocked() {
	if t.mu.paused {
		t.limitSeq.Store(t.mu.pausePos.Seq)
	} else {
		t.limitSeq.Store(t.log.Head().Seq)
	}
}

func (t *Topic) limitPosLocked() queue.Pos {
	if t.mu.paused {
		return t.mu.pausePos
	}
	return t.log.Head()
}

// Publish appends one message. It returns once the message is in the log
// (written to the mapped segment, so it survives a crash of this process)
// and, when the --sync-every rule says so, on stable storage (see
// durable.go): what an OK may be sent after. It blocks on a sync then, so
// it is for goroutines that may block (the HTTP API), not event loops.
func (t *Topic) Publish(body []byte) error {
	return t.PublishDeferred(body, 0)
}

// PublishDeferred appends a message that channels deliver no earlier than
// delay from now; it waits as Publish.
func (t *Topic) PublishDeferred(body []byte, delay time.Duration) error {
	tk, err := t.Put(body, delay)
	t.Notify()
	if err != nil {
		return err
	}
	return t.WaitDurable(tk)
}

// Put is PublishDeferred without the delivery and without the wait: the
// message is in the log (it survives kill -9) when Put returns, and
// consumers get it at the next Notify (or the next publish, FIN or RDY on
// its channels); the TCP layer answers all the PUBs of one read first, then
// notifies once. The OK must wait for the returned Ticket (Await,
// WaitDurable) unless it is 0. Put itself never blocks on a disk.
func (t *Topic) Put(body []byte, delay time.Duration) (Ticket, error) {
	now := time.Now().UnixNano()
	var at int64
	if delay > 0 {
		at = now + int64(delay)
	}
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return 0, ErrExiting
	}
	if t.dropLocked() {
		t.mu.Unlock()
		return 0, nil
	}
	encodeHeader(&t.mu.hdr, now, at)
	tk, err := t.appendOneLocked(t.mu.hdr[:], body)
	t.mu.Unlock()
	return tk, err
}

// appendOneLocked appends one message: hdr (made by encodeHeader, or a dead
// letter's) gets the next ID, then body follows it in the log.
func (t *Topic) appendOneLocked(hdr, body []byte) (Ticket, error) {
	id, err := t.nextIDLocked()
	if err != nil {
		return 0, t.e.writeFailed(t, err)
	}
	binary.LittleEndian.PutUint64(hdr[16:24], id)
	if _, err := t.log.Append(hdr, body); err != nil {
		return 0, t.e.writeFailed(t, err)
	}
	t.log.Commit()
	t.e.writeOK()
	t.messageCount.Add(1)
	t.messageBytes.Add(uint64(len(body)))
	return t.publishedLocked(), nil
}

// nextIDLocked returns the ID of the message about to be appended, taking a
// new block when the topic has none left (the first append after the topic
// was opened, and after every 2^24 messages).
func (t *Topic) nextIDLocked() (uint64, error) {
	if t.mu.idLeft == 0 {
		blk, low, err := t.e.ids.take()
		if err != nil {
			return 0, err
		}
		if low {
			t.e.kickSync()
		}
		t.mu.idNext = t.e.idNode | blk<<idOffsetBits
		t.mu.idLeft = idBlockSize
	}
	id := t.mu.idNext
	t.mu.idNext++
	t.mu.idLeft--
	return id, nil
}

// messageID returns the ID of the record rec at seq.
func (t *Topic) messageID(rec []byte, seq uint64) uint64 {
	if id, ok := recordID(rec); ok {
		return id
	}
	return t.legacy.id(t.e.idNode, seq)
}

// usedIDBlocks returns one past the highest ID block the topic's records
// and legacy map are known to use (0 if none): the newest record has the
// highest block of the log, since blocks only grow.
func (t *Topic) usedIDBlocks() uint64 {
	var floor uint64
	if t.legacy != nil {
		for _, b := range t.legacy.Blocks {
			floor = max(floor, b+1)
		}
	}
	if head := t.log.Head().Seq; head > t.log.First().Seq {
		if p, err := t.log.Seek(head - 1); err == nil {
			if rec, err := t.log.Read(p); err == nil {
				if id, ok := recordID(rec.Data); ok {
					floor = max(floor, idBlockOf(id)+1)
				}
			}
		}
	}
	return floor
}

// needsLegacyIDs reports whether the topic holds records that may have been
// written without an ID and has no map for them yet.
func (t *Topic) needsLegacyIDs() bool {
	first, head := t.log.First(), t.log.Head()
	if t.legacy != nil || head.Seq == first.Seq {
		return false
	}
	rec, err := t.log.Read(first)
	if err != nil {
		return true
	}
	_, ok := recordID(rec.Data)
	return !ok
}

// mapLegacyIDs gives the records of the log that carry no ID blocks of
// their own; topic.json keeps the map.
func (t *Topic) mapLegacyIDs() error {
	l, err := newLegacyIDs(t.e.ids, t.log.First().Seq, t.log.Head().Seq)
	if err != nil {
		return err
	}
	t.legacy = l
	t.markMetaDirty()
	return nil
}

// MessageSource yields the bodies of a batch; *wire.MessageIter is one.
type MessageSource interface {
	Next() (body []byte, ok bool)
}

// PublishBatch appends every body of src as one batch: readers see all of
// them at once, and a failure part-way keeps the ones already appended. It
// allocates nothing when src is already on the heap. It waits as Publish.
func (t *Topic) PublishBatch(src MessageSource) error {
	tk, err := t.PutBatch(src)
	t.Notify()
	if err != nil {
		return err
	}
	return t.WaitDurable(tk)
}

// PutBatch is PublishBatch without the delivery and the wait, as Put.
func (t *Topic) PutBatch(src MessageSource) (Ticket, error) {
	now := time.Now().UnixNano()
	var n, nbytes uint64
	var err error
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return 0, ErrExiting
	}
	encodeHeader(&t.mu.hdr, now, 0)
	for {
		body, ok := src.Next()
		if !ok {
			break
		}
		if t.dropLocked() {
			continue
		}
		var id uint64
		if id, err = t.nextIDLocked(); err != nil {
			break
		}
		setHeaderID(&t.mu.hdr, id)
		if _, err = t.log.Append(t.mu.hdr[:], body); err != nil {
			break
		}
		n++
		nbytes += uint64(len(body))
	}
	t.log.Commit()
	tk := t.publishedLocked()
	t.mu.Unlock()
	t.messageCount.Add(n)
	t.messageBytes.Add(nbytes)
	if err != nil {
		return 0, t.e.writeFailed(t, err)
	}
	t.e.writeOK()
	return tk, nil
}

// PublishMulti is PublishBatch over an iterator, for callers off the hot
// path (the HTTP API).
func (t *Topic) PublishMulti(msgs iter.Seq[[]byte]) error {
	next, stop := iter.Pull(msgs)
	defer stop()
	return t.PublishBatch(pullSource(next))
}

type pullSource func() ([]byte, bool)

func (p pullSource) Next() ([]byte, bool) { return p() }

// dropLocked reports whether an ephemeral topic with no channel is full
// (upstream drops what does not fit its memory queue).
func (t *Topic) dropLocked() bool {
	if !t.ephemeral || len(t.chans.Load().list) > 0 {
		return false
	}
	return int64(t.log.Head().Seq-t.mu.holdPos.Seq) >= t.e.opts.MemQueueSize
}

// publishedLocked follows an append: channels may read it, and the
// returned ticket is what its OK waits for (0 for ephemeral topics).
func (t *Topic) publishedLocked() Ticket {
	head := t.log.Head().Seq
	if !t.mu.paused {
		t.limitSeq.Store(head)
	}
	if t.ephemeral {
		return 0
	}
	return t.ticketLocked(head)
}

// Notify lets every channel hand new messages to ready consumers.
func (t *Topic) Notify() {
	for _, c := range t.chans.Load().list {
		c.dispatch()
	}
}

// GetChannel returns the named channel, creating it if needed. The first
// channel of a topic that has none starts with every message the topic
// holds; later ones start at the head.
func (t *Topic) GetChannel(name string) (*Channel, error) {
	if c := t.chans.Load().byName[name]; c != nil {
		return c, nil
	}
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return nil, ErrExiting
	}
	old := t.chans.Load()
	if c := old.byName[name]; c != nil {
		t.mu.Unlock()
		return c, nil
	}
	start := t.log.Head()
	if len(old.list) == 0 {
		start = t.mu.holdPos
	}
	c := newChannel(t, name, start)
	// Its checkpoint is written by the sync goroutine (at once: isNew);
	// its journal is made when it first defers a message.
	set := &channelSet{byName: make(map[string]*Channel, len(old.list)+1)}
	for k, v := range old.byName {
		set.byName[k] = v
	}
	set.byName[name] = c
	set.list = append(append(make([]*Channel, 0, len(old.list)+1), old.list...), c)
	sort.Slice(set.list, func(i, j int) bool { return set.list[i].name < set.list[j].name })
	t.chans.Store(set)
	t.mu.metaDirty = true
	t.mu.Unlock()
	t.e.logf(LogInfo, "TOPIC(%s): new channel(%s)", t.name, name)
	t.e.kickSync()
	t.e.changed(ChannelCreated, t.name, name)
	return c, nil
}

// ExistingChannel returns the named channel if it exists.
func (t *Topic) ExistingChannel(name string) (*Channel, bool) {
	c := t.chans.Load().byName[name]
	return c, c != nil
}

// Channels returns the topic's channels sorted by name.
func (t *Topic) Channels() []*Channel { return t.chans.Load().list }

// DeleteChannel deletes a channel and its state; its consumers are
// disconnected, as upstream.
func (t *Topic) DeleteChannel(name string) error {
	t.mu.Lock()
	old := t.chans.Load()
	c := old.byName[name]
	if c == nil {
		t.mu.Unlock()
		return ErrChannelNotFound
	}
	t.removeChannelLocked(c)
	left := len(t.chans.Load().list)
	t.mu.Unlock()
	t.e.logf(LogInfo, "TOPIC(%s): deleting channel %s", t.name, name)
	err := c.close(true)
	t.e.changed(ChannelDeleted, t.name, name)
	if left == 0 && t.ephemeral {
		go t.e.deleteTopicIf(t)
	}
	return err
}

// deleteChannelIf removes c if still registered (ephemeral clean-up).
func (t *Topic) deleteChannelIf(c *Channel) {
	t.mu.Lock()
	if t.chans.Load().byName[c.name] != c {
		t.mu.Unlock()
		return
	}
	if !c.idle() {
		t.mu.Unlock()
		return
	}
	t.removeChannelLocked(c)
	left := len(t.chans.Load().list)
	t.mu.Unlock()
	t.e.logf(LogInfo, "TOPIC(%s): deleting channel %s (ephemeral, no consumers left)", t.name, c.name)
	_ = c.close(true)
	t.e.changed(ChannelDeleted, t.name, c.name)
	if left == 0 && t.ephemeral {
		t.e.deleteTopicIf(t)
	}
}

func (t *Topic) removeChannelLocked(c *Channel) {
	old := t.chans.Load()
	set := &channelSet{byName: make(map[string]*Channel, len(old.list))}
	for _, v := range old.list {
		if v != c {
			set.byName[v.name] = v
			set.list = append(set.list, v)
		}
	}
	t.chans.Store(set)
	if len(set.list) == 0 {
		// Messages published from now on wait for the next channel.
		t.mu.holdPos = t.log.Head()
	}
	t.mu.metaDirty = true
}

// Pause holds back new messages from the topic's channels.
func (t *Topic) Pause() error { return t.setPaused(true) }

// Unpause releases what the pause held back.
func (t *Topic) Unpause() error { return t.setPaused(false) }

func (t *Topic) setPaused(p bool) error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return ErrExiting
	}
	if t.mu.paused != p {
		t.mu.paused = p
		if p {
			t.mu.pausePos = t.log.Head()
		}
		t.updateLimitLocked()
		t.mu.metaDirty = true
	}
	t.mu.Unlock()
	t.e.kickSync()
	if !p {
		t.Notify()
	}
	return nil
}

// IsPaused reports whether the topic is paused.
func (t *Topic) IsPaused() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.paused
}

// Empty discards the messages the topic itself holds: those published while
// it had no channel, or while paused. Channels keep theirs (use
// Channel.Empty), as upstream.
func (t *Topic) Empty() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	head := t.log.Head()
	if len(t.chans.Load().list) == 0 {
		t.mu.holdPos = head
	} else if t.mu.paused && t.mu.pausePos.Seq < head.Seq {
		skips := append(append([]skipRange(nil), *t.skips.Load()...), skipRange{From: t.mu.pausePos, To: head})
		t.skips.Store(&skips)
		t.mu.pausePos = head
		t.updateLimitLocked()
	}
	t.mu.metaDirty = true
	t.e.kickSync()
	return nil
}

// Depth is the number of messages the topic holds that no channel has
// received yet.
func (t *Topic) Depth() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.depthLocked()
}

func (t *Topic) depthLocked() int64 {
	head := t.log.Head().Seq
	var from uint64
	switch {
	case len(t.chans.Load().list) == 0:
		from = t.mu.holdPos.Seq
	case t.mu.paused:
		from = t.mu.pausePos.Seq
	default:
		return 0
	}
	if from >= head {
		return 0
	}
	return int64(head - from)
}

// syncStep runs on the engine's sync goroutine: write the metadata when it
// changed, and on full steps (every SyncTimeout, and at close) sync the log
// (releasing the publishers waiting for it), write channel checkpoints and
// delete consumed segments. Syncs asked for by publishers run on the
// topic's committer (durable.go).
func (t *Topic) syncStep(full bool) error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return nil
	}
	metaDirty := t.mu.metaDirty
	t.mu.metaDirty = false
	meta := topicMeta{Paused: t.mu.paused, PausePos: t.mu.pausePos, HoldPos: t.mu.holdPos, Skips: *t.skips.Load(), LegacyIDs: t.legacy, TTL: t.mu.ttl}
	noChannels := len(t.chans.Load().list) == 0
	t.mu.Unlock()

	if t.ephemeral {
		if full {
			t.trim(noChannels, meta.HoldPos)
		}
		return nil
	}
	if full {
		if err := t.syncLog(); err != nil {
			return err
		}
	}
	if metaDirty && (t.metaOnDisk.Load() || !t.freshMeta(meta)) {
		b, _ := json.Marshal(meta)
		if err := queue.WriteFileAtomicFS(t.e.fs, filepath.Join(t.dir, topicMetaFile), b); err != nil {
			t.markMetaDirty()
			return err
		}
		t.metaOnDisk.Store(true)
	}
	var cpErr error
	for _, c := range t.channelList() {
		if !full && !c.isNew() {
			continue
		}
		if !t.chDirMade.Load() {
			if cpErr = queue.MkdirAllFS(t.e.fs, filepath.Join(t.dir, channelsDir)); cpErr != nil {
				break
			}
			t.chDirMade.Store(true)
		}
		if err := c.checkpoint(); err != nil && cpErr == nil {
			cpErr = err
		}
	}
	if full {
		// Even when a checkpoint failed: deleting what every channel has
		// finished is what frees a full disk (a checkpoint needs a block),
		// and a channel's last durable checkpoint only points further
		// back, at messages it has finished since.
		t.trim(noChannels, meta.HoldPos)
		t.releasePages()
	}
	return cpErr
}

// freshMeta reports whether meta is what restore assumes without a
// topic.json: a topic that was never paused, emptied or given IDs for
// legacy records nor a TTL of its own, whose channels (if any) came while
// it held nothing older than its first record.
func (t *Topic) freshMeta(meta topicMeta) bool {
	return !meta.Paused && meta.PausePos == (queue.Pos{}) && meta.HoldPos.Seq <= t.log.First().Seq &&
		len(meta.Skips) == 0 && meta.LegacyIDs == nil && meta.TTL == nil
}

// activity counts what makes a topic's log pages resident: appends, and
// channel deliveries (each FIN, REQ and timeout follows one).
func (t *Topic) activity() uint64 {
	n := t.messageCount.Load()
	for _, c := range t.channelList() {
		n += c.fin.count.Load() + c.requeueCount.Load() + c.timeoutCount.Load()
	}
	return n
}

// releasePages asks the log to drop the pages nobody is about to touch
// from the process (queue.Log.ReleasePages), on the sync goroutine's full
// steps: once more after the topic went idle, so that it holds no memory
// at all, and not again until it is used.
func (t *Topic) releasePages() {
	if a := t.activity(); a != t.swept.Load() {
		t.swept.Store(a)
		t.sweptIdle.Store(false)
	} else if t.sweptIdle.Swap(true) {
		return
	}
	t.log.ReleasePages()
}

func (t *Topic) markMetaDirty() {
	t.mu.Lock()
	t.mu.metaDirty = true
	t.mu.Unlock()
}

// trim deletes segments that no channel (and no future first channel)
// needs any more.
func (t *Topic) trim(noChannels bool, hold queue.Pos) {
	low := uint64(1<<64 - 1)
	if noChannels {
		low = hold.Seq
	}
	for _, c := range t.channelList() {
		if s := c.lowWatermark(); s < low {
			low = s
		}
	}
	t.mu.Lock()
	if t.mu.paused && t.mu.pausePos.Seq < low {
		low = t.mu.pausePos.Seq
	}
	if len(t.chans.Load().list) == 0 && t.mu.holdPos.Seq < low {
		low = t.mu.holdPos.Seq
	}
	t.mu.Unlock()
	if low == 1<<64-1 {
		low = t.log.Head().Seq
	}
	o := &t.e.opts
	if o.RetentionAge == 0 && o.RetentionBytes == 0 {
		if err := t.log.DeleteBefore(queue.Pos{Seq: low}); err != nil {
			t.e.logf(LogError, "TOPIC(%s): deleting consumed segments: %s", t.name, err)
		}
		return
	}
	// Retention: a consumed segment also waits until it is older than
	// RetentionAge, or until the log outgrows RetentionBytes.
	segs := t.log.Segments(nil)
	total := t.log.Size()
	now := time.Now().UnixNano()
	cut := 0
	for i := 0; i+1 < len(segs); i++ {
		end := segs[i+1].FirstSeq
		if end > low {
			break // not finished by every channel
		}
		old := o.RetentionAge > 0 && now-t.recordTime(end) > int64(o.RetentionAge)
		big := o.RetentionBytes > 0 && total > o.RetentionBytes
		if !old && !big {
			break
		}
		total -= segs[i].Bytes
		cut = i + 1
	}
	if cut > 0 {
		if err := t.log.DeleteBefore(queue.Pos{Seq: segs[cut].FirstSeq}); err != nil {
			t.e.logf(LogError, "TOPIC(%s): deleting consumed segments: %s", t.name, err)
		}
	}
}

// recordTime is the publish time of the record with the given sequence,
// the first of its segment (0 if unreadable).
func (t *Topic) recordTime(firstSeq uint64) int64 {
	rec, err := t.log.Read(queue.Pos{Seq: firstSeq, Seg: firstSeq})
	if err != nil {
		return 0
	}
	ts, _, _, _ := decodeHeader(rec.Data)
	return ts
}

// posAtTime returns the position of the first stored message published at
// or after ts (ts <= 0: the oldest stored message).
func (t *Topic) posAtTime(ts int64) queue.Pos {
	first := t.log.First()
	if ts <= 0 {
		return first
	}
	segs := t.log.Segments(nil)
	start := first
	for _, s := range segs {
		if s.FirstSeq < first.Seq {
			continue
		}
		if rt := t.recordTime(s.FirstSeq); rt > ts || rt == 0 {
			break
		}
		start = queue.Pos{Seq: s.FirstSeq, Seg: s.FirstSeq}
	}
	p := start
	for {
		rec, err := t.log.Read(p)
		if err != nil {
			if errors.Is(err, queue.ErrCorrupt) && rec.Next.Seq > p.Seq {
				p = rec.Next
				continue
			}
			return t.log.Head()
		}
		if rt, _, _, _ := decodeHeader(rec.Data); rt >= ts {
			return rec.Pos
		}
		p = rec.Next
	}
}

// close stops the topic; with del it also removes every stored message.
func (t *Topic) close(del bool) error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return nil
	}
	t.mu.closed = true
	t.mu.Unlock()
	t.stopCommitter()
	for _, c := range t.channelList() {
		_ = c.close(del)
		if del {
			t.e.changed(ChannelDeleted, t.name, c.name)
		}
	}
	if del {
		err := t.log.Remove()
		if t.dir != "" {
			if rerr := t.e.fs.RemoveAll(t.dir); rerr != nil && err == nil {
				err = rerr
			}
			if rerr := queue.SyncDirFS(t.e.fs, t.e.topicsDir()); rerr != nil && err == nil {
				err = rerr
			}
		}
		t.closeWaiters(ErrExiting)
		return err
	}
	err := t.log.Close()
	t.closeWaiters(ErrExiting)
	return err
}

// TopicStats is a snapshot of a topic for /stats.
type TopicStats struct {
	Name         string
	Depth        int64
	BackendDepth int64
	MessageCount uint64
	MessageBytes uint64
	Paused       bool
	Channels     []ChannelStats
	// CorruptCount is how many messages were skipped as corrupt.
	CorruptCount uint64
	// ExpiredCount and DeadLetterCount sum the channels' (all of them,
	// whatever the channel filter).
	ExpiredCount, DeadLetterCount uint64
	// E2E is the end-to-end processing latency over all the topic's
	// channels (whatever the channel filter).
	E2E LatencyStats
}

// Stats returns a snapshot of the topic and, when channel != "", only that
// channel (all channels when it is "").
func (t *Topic) Stats(channel string, includeClients bool) TopicStats {
	t.mu.Lock()
	depth := t.depthLocked()
	paused := t.mu.paused
	t.mu.Unlock()
	st := TopicStats{
		Name:         t.name,
		Depth:        depth,
		MessageCount: t.messageCount.Load(),
		MessageBytes: t.messageBytes.Load(),
		Paused:       paused,
		Channels:     []ChannelStats{},
		CorruptCount: t.corruptCount.Load(),
		E2E:          t.latencyStats(),
	}
	st.BackendDepth = t.e.backendDepth(depth, t.ephemeral)
	for _, c := range t.channelList() {
		st.ExpiredCount += c.expiredCount.Load()
		st.DeadLetterCount += c.deadLetterCount.Load()
		if channel != "" && c.name != channel {
			continue
		}
		st.Channels = append(st.Channels, c.Stats(includeClients))
	}
	return st
}
