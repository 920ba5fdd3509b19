package engine

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/wire"
)

// idChecker follows every message a test publishes: the ID it got, and
// that no other message ever gets it.
type idChecker struct {
	tb     testing.TB
	byBody map[string]uint64
	byID   map[uint64]string
	next   int
}

func newIDChecker(tb testing.TB) *idChecker {
	return &idChecker{tb: tb, byBody: map[string]uint64{}, byID: map[uint64]string{}}
}

// publish puts n new messages into tp and records their IDs.
func (c *idChecker) publish(tp *Topic, n int) {
	c.tb.Helper()
	from := tp.log.Head()
	for range n {
		c.next++
		if err := tp.Publish(fmt.Appendf(nil, "m%d", c.next)); err != nil {
			c.tb.Fatal(err)
		}
	}
	if got := c.scanFrom(tp, from); got != n {
		c.tb.Fatalf("found %d new records, want %d", got, n)
	}
}

// scan reads every record of every topic of e and checks its ID against
// what was recorded: a message keeps its ID, and no two messages share one.
func (c *idChecker) scan(e *Engine) {
	c.tb.Helper()
	for _, tp := range e.Topics() {
		c.scanFrom(tp, tp.log.First())
	}
}

// scanFrom checks the records of tp from p to its head; it returns how many.
func (c *idChecker) scanFrom(tp *Topic, p queue.Pos) int {
	c.tb.Helper()
	n := 0
	for p.Seq < tp.log.Head().Seq {
		rec, err := tp.log.Read(p)
		if err != nil {
			c.tb.Fatalf("%s: read %+v: %v", tp.name, p, err)
		}
		_, _, body, ok := decodeHeader(rec.Data)
		if !ok {
			c.tb.Fatalf("%s: bad record at %d", tp.name, p.Seq)
		}
		id := tp.messageID(rec.Data, rec.Pos.Seq)
		if id>>idNodeShift != tp.e.idNode>>idNodeShift {
			c.tb.Fatalf("%s: ID %016x lacks node %d", tp.name, id, tp.e.opts.NodeID)
		}
		if old, ok := c.byBody[string(body)]; ok && old != id {
			c.tb.Fatalf("%s: %s had ID %016x, now %016x", tp.name, body, old, id)
		}
		if other, ok := c.byID[id]; ok && other != string(body) {
			c.tb.Fatalf("%s: ID %016x given to %s and to %s", tp.name, id, other, body)
		}
		c.byBody[string(body)] = id
		c.byID[id] = string(body)
		p = rec.Next
		n++
	}
	return n
}

// TestMessageIDsUnique is the case a user met: 3 messages each to t1 and
// t2, t1 deleted and re-created and 3 more, a restart and 3 more to t2, 3
// on another data path with another node ID: 15 distinct IDs (upstream's
// count), each 16 lower-case hex digits with the node ID on top.
func TestMessageIDsUnique(t *testing.T) {
	dir := t.TempDir()
	c := newIDChecker(t)
	open := func(dir string, node int64) *Engine {
		e, err := New(Options{DataPath: dir, NodeID: node})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	topic := func(e *Engine, name string) *Topic {
		tp, err := e.GetTopic(name)
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	e := open(dir, 1)
	c.publish(topic(e, "t1"), 3)
	c.publish(topic(e, "t2"), 3)
	if err := e.DeleteTopic("t1"); err != nil {
		t.Fatal(err)
	}
	c.publish(topic(e, "t1"), 3)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = open(dir, 1)
	c.scan(e) // the restored messages keep their IDs
	c.publish(topic(e, "t2"), 3)
	c.scan(e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := open(t.TempDir(), 2)
	defer e2.Close()
	c.publish(topic(e2, "t2"), 3)
	if len(c.byID) != 15 || len(c.byBody) != 15 {
		t.Fatalf("%d distinct IDs for %d messages, want 15", len(c.byID), len(c.byBody))
	}
	for id := range c.byID {
		s := wire.IDFromUint64(id)
		if n, ok := wire.Uint64FromID(s[:]); !ok || n != id {
			t.Fatalf("ID %016x does not round-trip as %s", id, s[:])
		}
	}
}

// FuzzMessageIDs: over any interleaving of publishes, deletes, re-creates,
// clean restarts and restarts from a kill -9 image of the data path (a
// copy taken while the engine runs: what the page cache holds), no two
// messages ever share an ID and every message keeps its ID.
func FuzzMessageIDs(f *testing.F) {
	f.Add([]byte{0x00, 0x21, 0x42, 0x03, 0x01, 0x07, 0x22, 0x02, 0x41, 0x06})
	f.Add([]byte{0x04, 0x05, 0x06, 0x07, 0x00, 0x03, 0x00, 0x07, 0x00})
	f.Add([]byte{0x60, 0x61, 0x62, 0x02, 0x03, 0x22, 0x23, 0x02, 0x07, 0x60, 0x03, 0x61})
	rng := rand.New(rand.NewPCG(14, 1))
	for range 8 {
		ops := make([]byte, 24)
		for i := range ops {
			ops[i] = byte(rng.Uint32())
		}
		f.Add(ops)
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		base := t.TempDir()
		gen := 0
		dir := filepath.Join(base, "0")
		opts := func(dir string) Options {
			return Options{DataPath: dir, MaxBytesPerFile: 4096, NodeID: 7}
		}
		e, err := New(opts(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = e.Close() }()
		c := newIDChecker(t)
		names := []string{"a", "b", "c#ephemeral"}
		for _, op := range ops {
			name := names[int(op>>5)%len(names)]
			switch op & 7 {
			case 0, 1, 4, 5: // publish 1..(8) messages
				tp, err := e.GetTopic(name)
				if err != nil {
					t.Fatal(err)
				}
				c.publish(tp, 1+int(op>>3&3)*3)
			case 2: // delete (then the next publish re-creates)
				_ = e.DeleteTopic(name)
			case 3: // clean restart
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if e, err = New(opts(dir)); err != nil {
					t.Fatal(err)
				}
				c.scan(e)
			case 6, 7: // kill -9: continue from a copy of the running data path
				gen++
				img := filepath.Join(base, fmt.Sprint(gen))
				if err := os.Mkdir(img, 0o755); err != nil {
					t.Fatal(err)
				}
				copyRunning(t, dir, img)
				_ = e.Close()
				dir = img
				if e, err = New(opts(dir)); err != nil {
					t.Fatal(err)
				}
				c.scan(e)
			}
		}
		c.scan(e)
	})
}

// TestLegacyRecordsGetStableIDs: records written before IDs were stored (an
// older data path, or an import of upstream's) get IDs from blocks of their
// own, the same after every restart, distinct from every new message's.
func TestLegacyRecordsGetStableIDs(t *testing.T) {
	dir := t.TempDir()
	e, err := New(Options{DataPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := e.GetTopic("old")
	// Legacy records: the 16-byte header, no ID.
	tp.mu.Lock()
	for i := range 5 {
		var h [legacyHeaderLen]byte
		binary.LittleEndian.PutUint64(h[0:8], uint64(1e18+i))
		if _, err := tp.log.Append(h[:], fmt.Appendf(nil, "legacy%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	tp.log.Commit()
	tp.mu.Unlock()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// As an older version left it: no allocator file, no map.
	if err := os.Remove(filepath.Join(dir, idsFile)); err != nil {
		t.Fatal(err)
	}
	c := newIDChecker(t)
	for range 3 {
		e, err = New(Options{DataPath: dir})
		if err != nil {
			t.Fatal(err)
		}
		tp, _ = e.GetTopic("old")
		if tp.legacy == nil || tp.legacy.Start != 0 || tp.legacy.End != 5 || len(tp.legacy.Blocks) != 1 {
			t.Fatalf("legacy map %+v, want records [0,5) in one block", tp.legacy)
		}
		c.scan(e)
		c.publish(tp, 2)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.byID) != 5+3*2 {
		t.Fatalf("%d distinct IDs, want 11", len(c.byID))
	}
	var meta topicMeta
	b, _ := os.ReadFile(filepath.Join(dir, "topics", "old.topic", topicMetaFile))
	if err := json.Unmarshal(b, &meta); err != nil || meta.LegacyIDs == nil {
		t.Fatalf("topic.json %s: no legacy map (%v)", b, err)
	}
}

// TestIDBlocksNeverReused: the allocator's file is written before a block is
// handed out, so a restart (even one that loses the rest of a chunk)
// continues above every block given; a damaged file continues above what
// the logs show.
func TestIDBlocksNeverReused(t *testing.T) {
	dir := t.TempDir()
	logf := func(LogLevel, string, ...any) {}
	b, err := openIDBlocks(queue.OS(), dir, 0, logf)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	var last uint64
	for i := range idReserveChunk + 10 {
		blk, _, err := b.take()
		if err != nil {
			t.Fatal(err)
		}
		if seen[blk] || blk == 0 || blk >= maxIDBlock {
			t.Fatalf("take %d: block %d", i, blk)
		}
		seen[blk] = true
		last = blk
	}
	b2, err := openIDBlocks(queue.OS(), dir, 0, logf)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _, _ := b2.take(); blk <= last {
		t.Fatalf("after reopen: block %d, want above %d", blk, last)
	}
	if err := os.WriteFile(filepath.Join(dir, idsFile), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	b3, err := openIDBlocks(queue.OS(), dir, last+1, logf)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _, _ := b3.take(); blk <= last {
		t.Fatalf("after damage: block %d, want above %d", blk, last)
	}
}

// copyRunning copies the data path of a running engine: a file that its
// sync goroutine renames or removes meanwhile is skipped, as kill -9 at
// that moment would have found it gone.
func copyRunning(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}
