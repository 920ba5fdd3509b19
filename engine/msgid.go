package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/nsqfast/nsq/queue"
)

// Message IDs.
//
// A message ID is 64 bits, sent as 16 hex digits:
//
//	node ID (10 bits) | block (30 bits) | offset in the block (24 bits)
//
// A block is 2^24 IDs that one topic hands out in order, one per message it
// appends. Blocks come from the engine's allocator (idBlocks), which never
// hands out a block twice for the life of a data path: it reserves blocks
// in chunks by writing the first unreserved one to message-ids.json
// (crash-safely, fsynced) before it hands out any block of the chunk, so a
// crash or a power cut can waste the rest of a chunk but never reuse a
// block. A topic takes a fresh block when it appends its first message after
// it is opened (created, re-created or restored) and whenever it has used
// up 2^24 IDs, so no two opens of a topic share a block: a message lost in
// a power cut and its sequence number reused still gets a new ID.
//
// The ID is written into the message's record (recordHeader), so it never
// changes: a message delivered again after a requeue, a restart, kill -9,
// power loss or a rewind carries the ID it was first delivered with. The
// node ID in the top bits keeps IDs of nsqd with different --node-id apart,
// as upstream's GUIDs (which carry the node ID in the same place). A new data
// path starts its blocks at a random point in the lower half of the block
// space, so that two nsqd that share a node ID (upstream's default node ID
// is a 10-bit hash of the hostname) are unlikely to overlap.
//
// Records written before IDs were stored (older data paths, and records
// imported from upstream's data path by engine/migrate) carry none: their
// topic maps them to IDs from blocks of its own (legacyIDs), taken when it is
// first opened and kept in topic.json.
//
// The space lasts: 2^30 blocks of 2^24 IDs are 570 years at 1M messages a
// second into one topic, or 34 years of a new topic (or a restart of a
// published topic) every second.
const (
	idNodeBits   = 10
	idBlockBits  = 30
	idOffsetBits = 24
	idBlockSize  = 1 << idOffsetBits
	idNodeShift  = idBlockBits + idOffsetBits
	// maxIDBlock is never handed out; it marks IDs of legacy records that
	// fall outside their topic's legacy map (which cannot happen unless a
	// data path was altered by hand).
	maxIDBlock = 1<<idBlockBits - 1
	// idReserveChunk blocks are reserved per write of message-ids.json: a
	// restart wastes at most that many (2^30 / 4096 = 262,144 restarts).
	idReserveChunk = 4096
)

const idsFile = "message-ids.json"

// ErrIDSpaceExhausted is returned by publishes once every message-ID block of
// the data path has been used.
var ErrIDSpaceExhausted = errors.New("message ID space of this data path is exhausted")

// idBlocks hands out message-ID blocks. Safe for concurrent use; take is
// called once per 2^24 messages of a topic and once per topic open, so its
// lock is not a shared lock of the publish path.
type idBlocks struct {
	fs      queue.FS
	path    string
	writeMu sync.Mutex // serialises writes of the file
	mu      struct {
		sync.Mutex
		next, limit uint64 // blocks [next, limit) are reserved on disk and unused
	}
}

type idsDoc struct {
	NextBlock uint64 `json:"next_block"`
}

// openIDBlocks reads the allocator's file; floor is one past the highest
// block the data path's topics are known to have used (a damaged or missing
// file restarts above it). The first chunk is reserved before it returns.
func openIDBlocks(fs queue.FS, dataPath string, floor uint64, logf func(LogLevel, string, ...any)) (*idBlocks, error) {
	b := &idBlocks{fs: fs, path: filepath.Join(dataPath, idsFile)}
	next := uint64(0)
	data, err := queue.ReadFileFS(fs, b.path)
	switch {
	case err == nil:
		var doc idsDoc
		if jerr := json.Unmarshal(data, &doc); jerr != nil || doc.NextBlock == 0 || doc.NextBlock >= maxIDBlock {
			// Written crash-safely, so only an outside hand damages it. The
			// blocks of deleted topics are not in any log: jump well past
			// what the logs show.
			next = floor + idReserveChunk*16
			logf(LogError, "%s is damaged (%q): message IDs continue from block %d", b.path, data, next)
		} else {
			next = doc.NextBlock
		}
	case errors.Is(err, os.ErrNotExist):
		// A new data path (or one written before IDs had blocks): start
		// at a random point of the lower half, see above.
		next = 1 + rand.Uint64N(maxIDBlock/2)
	default:
		return nil, err
	}
	next = max(next, floor, 1)
	b.mu.next, b.mu.limit = next, next
	if err := b.reserve(next + idReserveChunk); err != nil {
		return nil, fmt.Errorf("message IDs: %w", err)
	}
	return b, nil
}

// reserve makes every block below upTo reservable: it writes upTo to the
// file (fsynced) before the blocks are handed out.
func (b *idBlocks) reserve(upTo uint64) error {
	upTo = min(upTo, maxIDBlock)
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	done := b.mu.limit >= upTo
	b.mu.Unlock()
	if done {
		return nil
	}
	doc, _ := json.Marshal(idsDoc{NextBlock: upTo})
	if err := queue.WriteFileAtomicFS(b.fs, b.path, doc); err != nil {
		return err
	}
	b.mu.Lock()
	b.mu.limit = max(b.mu.limit, upTo)
	b.mu.Unlock()
	return nil
}

// take returns a block no one has had. low reports that fewer than half a
// chunk is left reserved: the caller should have refill run off its path.
// When nothing is reserved, take writes the file itself (an fsync): that
// happens only if more than half a chunk of topics take a block between two
// runs of the sync goroutine.
func (b *idBlocks) take() (blk uint64, low bool, err error) {
	b.mu.Lock()
	for b.mu.next >= b.mu.limit {
		next := b.mu.next
		b.mu.Unlock()
		if next >= maxIDBlock {
			return 0, false, ErrIDSpaceExhausted
		}
		if err := b.reserve(next + idReserveChunk); err != nil {
			return 0, false, err
		}
		b.mu.Lock()
	}
	blk = b.mu.next
	b.mu.next++
	low = b.mu.limit-b.mu.next < idReserveChunk/2
	b.mu.Unlock()
	return blk, low, nil
}

// refill reserves the next chunk when less than half of one is left. Run by
// the sync goroutine.
func (b *idBlocks) refill() error {
	b.mu.Lock()
	next, low := b.mu.next, b.mu.limit-b.mu.next < idReserveChunk/2
	b.mu.Unlock()
	if !low || next >= maxIDBlock {
		return nil
	}
	return b.reserve(next + idReserveChunk)
}

// idBlockOf returns the block of an ID.
func idBlockOf(id uint64) uint64 { return id >> idOffsetBits & maxIDBlock }

// legacyIDs maps records without a stored ID (see above) to IDs: the record
// at sequence Start+k gets block Blocks[k>>24], offset k&(2^24-1).
type legacyIDs struct {
	Start  uint64   `json:"start"`
	End    uint64   `json:"end"`
	Blocks []uint64 `json:"blocks"`
}

// id returns the ID of the legacy record at seq.
func (l *legacyIDs) id(node, seq uint64) uint64 {
	if l == nil || seq < l.Start || seq >= l.End {
		return node | maxIDBlock<<idOffsetBits | seq&(idBlockSize-1)
	}
	k := seq - l.Start
	return node | l.Blocks[k>>idOffsetBits]<<idOffsetBits | k&(idBlockSize-1)
}

// newLegacyIDs maps the records [start, end) to fresh blocks.
func newLegacyIDs(b *idBlocks, start, end uint64) (*legacyIDs, error) {
	l := &legacyIDs{Start: start, End: end}
	for n := (end - start + idBlockSize - 1) / idBlockSize; n > 0; n-- {
		blk, _, err := b.take()
		if err != nil {
			return nil, err
		}
		l.Blocks = append(l.Blocks, blk)
	}
	return l, nil
}

// recordID returns the ID stored in a record, ok false for a legacy record
// (one without).
func recordID(rec []byte) (id uint64, ok bool) {
	if len(rec) < recordHeaderLen || binary.LittleEndian.Uint64(rec[0:8])&recordHasID == 0 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(rec[16:24]), true
}
