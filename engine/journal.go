package engine

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"time"

	"github.com/nsqfast/nsq/queue"
)

// The deferral journal.
//
// A channel's deferred messages (REQ with a delay, and DPUB messages its
// cursor has reached that are due in more than journalDeferThreshold) are
// copied to a small per-channel log, the journal, in
// channels/<name>.journal/. This does two things:
//
//   - A REQ's delay survives kill -9. The checkpoint (every --sync-timeout)
//     records deferred entries too, but a REQ made since the last
//     checkpoint would otherwise come back at once after a crash, early.
//     On restart, journal records newer than the checkpoint are replayed
//     over it.
//   - A message deferred for hours does not keep its topic log segment on
//     disk: an entry backed by the journal is ignored when the channel's
//     low watermark is computed, so the topic's segments are reclaimed as
//     usual; the journal only keeps what is still deferred.
//
// Appending to the journal is a copy into mapped memory, like a publish:
// no syscall on the event loop. The journal is fsynced before each
// checkpoint, and trimmed after it to the oldest record still referenced.
//
// Record: seq (8, LE), deliver-at ns (8, LE), attempts (2, LE), then the
// message's log payload (engine header + body).

const journalHdrLen = 18

// journalDeferThreshold is how long a DPUB message must still wait, when
// the cursor reaches it, to be copied to the journal rather than keep its
// log segment.
const journalDeferThreshold = time.Minute

// journalSegmentSize keeps journal segments small so that trimming frees
// space in small steps.
const journalSegmentSize = 1 << 20

const journalDirSuffix = ".journal"

func (c *Channel) journalDir() string {
	return filepath.Join(c.t.dir, channelsDir, c.name+journalDirSuffix)
}

// openJournalLocked opens the channel's journal (durable channels only),
// creating it if needed. A channel has none until it first defers a
// message for long (a REQ with a delay, a DPUB due in more than
// journalDeferThreshold), so that 10,000 channels that never do cost no
// directory, file or mapping each. Creating it is one-off file I/O
// (directory, segment, fsyncs) on the caller's goroutine, under c.mu, as
// creating a topic or a channel is; later deferrals append to it without a
// syscall. c.mu held.
func (c *Channel) openJournalLocked() error {
	if c.ephemeral || c.mu.journal != nil || c.mu.closed {
		return nil
	}
	j, err := queue.Open(c.journalDir(), queue.Options{SegmentSize: journalSegmentSize, PrefaultBytes: 64 << 10, FS: c.t.e.fs, NoLock: true})
	if err != nil {
		return err
	}
	c.mu.journal = j
	return nil
}

// journalLocked copies a deferred entry to the journal, opening it if
// needed. payload is the message's log payload.
func (c *Channel) journalLocked(slot int32, at int64, payload []byte) {
	if c.mu.journal == nil && !c.ephemeral {
		if err := c.openJournalLocked(); err != nil {
			c.t.e.logf(LogError, "CHANNEL(%s:%s): journal: %s", c.t.name, c.name, err)
		}
	}
	j := c.mu.journal
	if j == nil {
		return
	}
	e := &c.mu.entries[slot]
	h := c.mu.jhdr[:]
	binary.LittleEndian.PutUint64(h[0:8], e.pos.Seq)
	binary.LittleEndian.PutUint64(h[8:16], uint64(at))
	binary.LittleEndian.PutUint16(h[16:18], e.attempts)
	pos, err := j.Append(h, payload)
	if err != nil {
		c.t.e.logf(LogError, "CHANNEL(%s:%s): journal: %s", c.t.name, c.name, err)
		return
	}
	j.Commit()
	e.jpos, e.inJournal = pos, true
}

// payloadLocked returns an entry's log payload, from the journal or the
// topic log; false if it is gone. (A journal-backed entry reads only the
// journal: the topic segments it was in may be deleted at any time.)
func (c *Channel) payloadLocked(e *entry) ([]byte, bool) {
	if e.inJournal {
		if c.mu.journal == nil {
			return nil, false
		}
		rec, err := c.mu.journal.Read(e.jpos)
		if err != nil || rec.Pos.Seq != e.jpos.Seq || len(rec.Data) < journalHdrLen {
			return nil, false
		}
		return rec.Data[journalHdrLen:], true
	}
	rec, err := c.t.log.Read(e.pos)
	if err != nil || rec.Pos.Seq != e.pos.Seq {
		return nil, false
	}
	return rec.Data, true
}

// replayJournalLocked applies the journal records written after the
// checkpoint: each sets (or creates) a deferred entry. (The cursor skips
// the ones it has not passed: see skipPendingLocked.)
func (c *Channel) replayJournalLocked(from queue.Pos, r *restoring) {
	walkJournal(c.mu.journal, from, func(pos queue.Pos) {
		c.t.e.logf(LogError, "CHANNEL(%s:%s): corrupt journal record at %d, skipped", c.t.name, c.name, pos.Seq)
	}, func(rec queue.Record) {
		seq := binary.LittleEndian.Uint64(rec.Data[0:8])
		at := int64(binary.LittleEndian.Uint64(rec.Data[8:16]))
		attempts := binary.LittleEndian.Uint16(rec.Data[16:18])
		i, ok := r.bySeq[seq]
		if ok {
			r.at[i] = at
		} else {
			r.add(seq, c.newEntryLocked(queue.Pos{Seq: seq}), at)
			i = r.bySeq[seq]
		}
		e := &c.mu.entries[r.order[i]]
		e.attempts = attempts
		e.jpos, e.inJournal = rec.Pos, true
	})
}

// walkJournal calls fn, in order, with each record of the journal j from
// `from` on that holds a journal record header. A damaged record is told
// to corrupt (nil: not told) and skipped, with what Read skips after it.
func walkJournal(j *queue.Log, from queue.Pos, corrupt func(queue.Pos), fn func(queue.Record)) {
	for pos := from; ; {
		rec, err := j.Read(pos)
		if errors.Is(err, queue.ErrCorrupt) {
			if corrupt != nil {
				corrupt(pos)
			}
			if rec.Next.Seq <= pos.Seq {
				return
			}
			pos = rec.Next
			continue
		}
		if err != nil {
			return
		}
		pos = rec.Next
		if len(rec.Data) >= journalHdrLen {
			fn(rec)
		}
	}
}

// journalRecordOf returns the position of the journal record of message
// seq: jpos settled against the journal when the record there is that
// message's, else the newest such record in the journal (a garbled
// checkpoint); false when the journal has none.
func journalRecordOf(j *queue.Log, jpos queue.Pos, seq uint64) (queue.Pos, bool) {
	isOf := func(rec queue.Record) bool {
		return len(rec.Data) >= journalHdrLen && binary.LittleEndian.Uint64(rec.Data[0:8]) == seq
	}
	if p := j.Settle(jpos); p.Seq < j.Head().Seq {
		if rec, err := j.Read(p); err == nil && rec.Pos == p && isOf(rec) {
			return p, true
		}
	}
	var found queue.Pos
	ok := false
	walkJournal(j, j.First(), nil, func(rec queue.Record) {
		if isOf(rec) {
			found, ok = rec.Pos, true
		}
	})
	return found, ok
}
