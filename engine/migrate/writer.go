package migrate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
)

// UpstreamQueue is the content of one upstream diskqueue, for WriteUpstream.
type UpstreamQueue struct {
	// Consumed are messages upstream wrote and then delivered: they lie
	// before the read position, and files holding nothing else are deleted,
	// as upstream deletes them.
	Consumed []UpstreamMessage
	// Backlog are the messages between the read and the write position.
	Backlog []UpstreamMessage
	// Unsynced are written after the backlog, in the same file, beyond the
	// write position the metadata records: what upstream leaves when it dies
	// between a write and the next sync of its metadata.
	Unsynced []UpstreamMessage
	// NoMeta leaves out the metadata file, as when upstream died before its
	// first sync.
	NoMeta bool
}

// WriteUpstream writes an upstream v1.3.0 data path into dir, as upstream's
// nsqd would leave it: nsqd.dat from md, and for each entry of queues a
// diskqueue named by its key (a topic name, or "<topic>:<channel>") whose
// files roll over at maxBytesPerFile bytes as upstream's do. It is for tests
// and tools: it neither fsyncs nor guards against crashes.
func WriteUpstream(dir string, md UpstreamMetadata, maxBytesPerFile int64, queues map[string]UpstreamQueue) error {
	if maxBytesPerFile <= 0 {
		return errors.New("migrate: maxBytesPerFile must be positive")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if md.Version == "" {
		md.Version = "1.3.0"
	}
	b, err := json.Marshal(&md)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, metadataFile), b, 0o600); err != nil {
		return err
	}
	for name, q := range queues {
		if err := writeDiskQueue(dir, name, maxBytesPerFile, &q); err != nil {
			return err
		}
	}
	return nil
}

// writeDiskQueue lays q out the way upstream's diskqueue writes and reads:
// a record goes to a new file when the current one is not empty and the
// record would take it past maxBytes; the reader moves to the next file
// once it has read a file that is no longer the write file to its end.
func writeDiskQueue(dir, name string, maxBytes int64, q *UpstreamQueue) error {
	var files [][]byte // by file number
	cur := func() *[]byte { return &files[len(files)-1] }
	files = append(files, nil)
	var scratch []byte
	put := func(m *UpstreamMessage, mayRoll bool) {
		scratch = appendMessage(scratch[:0], m)
		if mayRoll && len(*cur()) > 0 && int64(len(*cur())+4+len(scratch)) > maxBytes {
			files = append(files, nil)
		}
		*cur() = appendRecord(*cur(), scratch)
	}
	for i := range q.Consumed {
		put(&q.Consumed[i], true)
	}
	rf, rp := int64(len(files)-1), int64(len(*cur()))
	for i := range q.Backlog {
		put(&q.Backlog[i], true)
	}
	wf, wp := int64(len(files)-1), int64(len(*cur()))
	for i := range q.Unsynced {
		put(&q.Unsynced[i], false)
	}
	if rf < wf && rp == int64(len(files[rf])) {
		rf, rp = rf+1, 0
	}
	for num := rf; num < int64(len(files)); num++ {
		if len(files[num]) == 0 && num == wf && wp == 0 {
			continue // upstream creates a file on its first write
		}
		if err := os.WriteFile(filepath.Join(dir, dqDataName(name, num)), files[num], 0o600); err != nil {
			return err
		}
	}
	if q.NoMeta {
		return nil
	}
	meta := appendMeta(nil, dqMeta{Depth: int64(len(q.Backlog)), ReadFileNum: rf, ReadPos: rp, WriteFileNum: wf, WritePos: wp})
	return os.WriteFile(filepath.Join(dir, dqMetaName(name)), meta, 0o600)
}
