package migrate

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/wire"
)

// Report says what Import did.
type Report struct {
	// Imported is true when an upstream nsqd.dat was found and imported.
	Imported bool `json:"imported"`
	// Topics and Channels count what was created.
	Topics   int `json:"topics"`
	Channels int `json:"channels"`
	// Messages counts the records written: each message of a topic backlog
	// once (every channel delivers it) and each message of a channel
	// backlog once.
	Messages int64 `json:"messages"`
	// Warnings counts what was skipped or repaired; each was logged.
	Warnings int `json:"warnings"`
}

func (r Report) String() string {
	return fmt.Sprintf("imported %d topic(s), %d channel(s), %d message(s) from upstream %s (%d warning(s)); it is now %s",
		r.Topics, r.Channels, r.Messages, metadataFile, r.Warnings, importedFile)
}

// ErrTopicExists is returned (wrapped) by Import when a topic of the
// upstream nsqd.dat already exists in topics/: Import changes nothing.
var ErrTopicExists = errors.New("migrate: topic already exists")

const (
	// stagingDir is where Import builds topics before moving them.
	stagingDir = ".import-tmp"
	// journalFile, in stagingDir, names the topics built and ready to move.
	journalFile = "journal.json"
	topicsDir   = "topics"
	topicSuffix = ".topic"
)

// journal is written once every topic is built; its presence means
// "finish the moves" rather than "start again".
type journal struct {
	Topics []string `json:"topics"` // directory names under topics/
	Report Report   `json:"report"`
}

// hook, when set by a test, is called at each step of Import with the
// step's name; an error makes Import stop there, as a crash would.
var hook func(step string) error

func step(name string) error {
	if hook == nil {
		return nil
	}
	return hook(name)
}

// Import imports the upstream nsqd v1.3.0 data in dataPath (nsqd.dat and
// the diskqueue files beside it) into topics/ of the same directory, whose
// new segments are maxBytesPerFile bytes (0: queue's default). It does
// nothing when dataPath holds no nsqd.dat. It is crash-safe: run again after
// a crash or an error, it ends with every message imported exactly once.
// It returns an error wrapping ErrTopicExists, and changes nothing, when a
// topic to import already exists. logf (nil: discard) receives a line per
// topic and one per warning. The caller must hold the data path (nsqd.lock);
// Import also takes upstream's lock on the directory, so it fails while an
// upstream nsqd runs there. Not safe for concurrent use.
func Import(dataPath string, maxBytesPerFile int64, logf func(format string, args ...any)) (Report, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	stage := filepath.Join(dataPath, stagingDir)
	mdPath := filepath.Join(dataPath, metadataFile)
	mdBytes, err := os.ReadFile(mdPath)
	if errors.Is(err, os.ErrNotExist) {
		// A previous import may have been stopped while removing its
		// staging directory, after it had finished.
		if _, err := os.Stat(stage); err == nil {
			return Report{}, removeDir(stage, dataPath)
		}
		return Report{}, nil
	}
	if err != nil {
		return Report{}, err
	}
	unlock, err := lockUpstream(dataPath)
	if err != nil {
		return Report{}, err
	}
	defer unlock()

	im := &importer{dataPath: dataPath, stage: stage, segSize: maxBytesPerFile, logf: logf}
	j, err := readJournal(stage)
	if err != nil {
		return Report{}, err
	}
	if j == nil {
		var md UpstreamMetadata
		if err := json.Unmarshal(mdBytes, &md); err != nil {
			return Report{}, fmt.Errorf("migrate: parsing %s: %w", mdPath, err)
		}
		if j, err = im.build(&md); err != nil {
			return Report{}, err
		}
	} else {
		logf("MIGRATE: resuming an interrupted import of %d topic(s)", len(j.Topics))
	}
	if err := im.move(j); err != nil {
		return Report{}, err
	}
	if err := os.Rename(mdPath, filepath.Join(dataPath, importedFile)); err != nil {
		return Report{}, err
	}
	if err := queue.SyncDir(dataPath); err != nil {
		return Report{}, err
	}
	if err := step("marked"); err != nil {
		return Report{}, err
	}
	if err := removeDir(stage, dataPath); err != nil {
		return Report{}, err
	}
	j.Report.Imported = true
	return j.Report, nil
}

// lockUpstream takes the flock upstream's nsqd holds on its data path
// directory while it runs.
func lockUpstream(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("migrate: %s is locked, possibly by a running upstream nsqd: stop it before importing: %w", dir, err)
	}
	return func() { _ = f.Close() }, nil
}

func removeDir(dir, parent string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return queue.SyncDir(parent)
}

func readJournal(stage string) (*journal, error) {
	b, err := os.ReadFile(filepath.Join(stage, journalFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		// WriteFileAtomic never leaves a partial journal.
		return nil, fmt.Errorf("migrate: %s unreadable: %w", filepath.Join(stage, journalFile), err)
	}
	return &j, nil
}

type importer struct {
	dataPath string
	stage    string
	segSize  int64
	logf     func(format string, args ...any)
	up       *upstreamDir
	rep      Report
	buf      []byte
}

func (im *importer) warn(format string, args ...any) {
	im.rep.Warnings++
	im.logf("MIGRATE: WARNING: "+format, args...)
}

// build creates every topic of md under the staging directory, syncs it and
// writes the journal.
func (im *importer) build(md *UpstreamMetadata) (*journal, error) {
	if err := os.RemoveAll(im.stage); err != nil {
		return nil, err
	}
	topics := im.selectTopics(md)
	for _, t := range topics {
		dst := filepath.Join(im.dataPath, topicsDir, t.Name+topicSuffix)
		if _, err := os.Lstat(dst); err == nil {
			return nil, fmt.Errorf("%w: %s is in upstream's %s and in %s; move one of them aside",
				ErrTopicExists, t.Name, metadataFile, dst)
		}
	}
	up, err := scanUpstreamDir(im.dataPath)
	if err != nil {
		return nil, err
	}
	im.up = up
	stageTopics := filepath.Join(im.stage, topicsDir)
	if err := os.MkdirAll(stageTopics, 0o755); err != nil {
		return nil, err
	}
	j := &journal{Topics: []string{}}
	used := map[string]bool{}
	for _, t := range topics {
		if err := im.buildTopic(stageTopics, &t, used); err != nil {
			return nil, fmt.Errorf("migrate: topic %s: %w", t.Name, err)
		}
		j.Topics = append(j.Topics, t.Name+topicSuffix)
		if err := step("built " + t.Name); err != nil {
			return nil, err
		}
	}
	queues := map[string]bool{}
	for q := range up.metas {
		queues[q] = true
	}
	for q := range up.files {
		queues[q] = true
	}
	for _, q := range sortedKeys(queues) {
		if !used[q] {
			im.warn("diskqueue %s belongs to no topic or channel of %s: not imported, left in place", q, metadataFile)
		}
	}
	for _, d := range []string{stageTopics, im.stage} {
		if err := queue.SyncDir(d); err != nil {
			return nil, err
		}
	}
	j.Report = im.rep
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	if err := queue.WriteFileAtomic(filepath.Join(im.stage, journalFile), b); err != nil {
		return nil, err
	}
	return j, step("journal")
}

// selectTopics returns the topics and channels of md that upstream would
// load: valid, durable names, each once.
func (im *importer) selectTopics(md *UpstreamMetadata) []UpstreamTopic {
	var out []UpstreamTopic
	seen := map[string]bool{}
	for _, t := range md.Topics {
		switch {
		case !wire.IsValidTopicName([]byte(t.Name)) || wire.IsEphemeral([]byte(t.Name)):
			im.warn("topic %q in %s: invalid or ephemeral name, skipped (upstream skips it too)", t.Name, metadataFile)
			continue
		case seen[t.Name]:
			im.warn("topic %q listed twice in %s: imported once", t.Name, metadataFile)
			continue
		}
		seen[t.Name] = true
		nt := UpstreamTopic{Name: t.Name, Paused: t.Paused}
		cseen := map[string]bool{}
		for _, c := range t.Channels {
			switch {
			case !wire.IsValidChannelName([]byte(c.Name)) || wire.IsEphemeral([]byte(c.Name)):
				im.warn("channel %q of topic %s in %s: invalid or ephemeral name, skipped (upstream skips it too)", c.Name, t.Name, metadataFile)
				continue
			case cseen[c.Name]:
				im.warn("channel %q of topic %s listed twice in %s: imported once", c.Name, t.Name, metadataFile)
				continue
			}
			cseen[c.Name] = true
			nt.Channels = append(nt.Channels, c)
		}
		out = append(out, nt)
	}
	return out
}

// The engine's files (engine/topic.go, engine/channel.go): topic.json and
// channels/<name>.json. Field names must match the engine's.
type topicMeta struct {
	Paused   bool      `json:"paused"`
	PausePos queue.Pos `json:"pause_pos"`
	HoldPos  queue.Pos `json:"hold_pos"`
}

type checkpoint struct {
	Cursor  queue.Pos      `json:"cursor"`
	Paused  bool           `json:"paused"`
	Pending []pendingEntry `json:"pending,omitempty"`
}

type pendingEntry struct {
	Pos      queue.Pos `json:"pos"`
	Attempts uint16    `json:"attempts"`
}

// buildTopic writes topic t into stageTopics/<name>.topic: channel backlogs
// first, listed as pending entries of their checkpoints; then the
// never-delivered part of the largest channel backlog, where that channel's
// cursor starts; then the topic's backlog, where every other cursor starts.
func (im *importer) buildTopic(stageTopics string, t *UpstreamTopic, used map[string]bool) error {
	dir := filepath.Join(stageTopics, t.Name+topicSuffix)
	if err := os.MkdirAll(filepath.Join(dir, "channels"), 0o755); err != nil {
		return err
	}
	used[t.Name] = true
	plans := make([]dqPlan, len(t.Channels))
	tail := -1 // the channel with the largest backlog
	for i, c := range t.Channels {
		q := channelQueue(t.Name, c.Name)
		used[q] = true
		plans[i] = im.up.planQueue(q, im.warn)
		if tail < 0 || plans[i].bytes() > plans[tail].bytes() {
			tail = i
		}
	}
	topicPlan := im.up.planQueue(t.Name, im.warn)

	lg, err := queue.Open(dir, queue.Options{SegmentSize: im.segSize, NoPrefault: true})
	if err != nil {
		return err
	}
	var hdr [16]byte
	var appendErr error
	// appendAll appends the messages of p that keep selects (nil: all),
	// listing them in pending unless pending is nil. The message goes by
	// value and keep sees only its attempts: a pointer to it would move it
	// to the heap, an allocation per message (BenchmarkImport, 100k
	// messages: 375ms with, 139ms without).
	appendAll := func(p *dqPlan, keep func(attempts uint16) bool, pending *[]pendingEntry) (n int64, err error) {
		im.buf, err = p.each(im.buf, im.warn, func(m UpstreamMessage) error {
			if keep != nil && !keep(m.Attempts) {
				return nil
			}
			// The engine's record header: publish time, deliver-at (0: now).
			binary.LittleEndian.PutUint64(hdr[0:8], uint64(m.Timestamp))
			binary.LittleEndian.PutUint64(hdr[8:16], 0)
			pos, err := lg.Append(hdr[:], m.Body)
			if err != nil {
				return err
			}
			if pending != nil {
				*pending = append(*pending, pendingEntry{Pos: pos, Attempts: m.Attempts})
			}
			n++
			return nil
		})
		lg.Commit()
		return n, err
	}
	// A cursor cannot carry attempts, so the tail channel's messages that
	// were delivered before go with the pending entries (a first pass over
	// its backlog), and the others after them (a second pass).
	delivered := func(attempts uint16) bool { return attempts > 0 }
	fresh := func(attempts uint16) bool { return attempts == 0 }
	cps := make([]checkpoint, len(t.Channels))
	var chanMsgs, topicMsgs int64
	for i := range t.Channels {
		var keep func(uint16) bool
		if i == tail {
			keep = delivered
		}
		if appendErr == nil {
			var n int64
			n, appendErr = appendAll(&plans[i], keep, &cps[i].Pending)
			chanMsgs += n
		}
	}
	if tail >= 0 && appendErr == nil {
		cps[tail].Cursor = lg.Head()
		var n int64
		n, appendErr = appendAll(&plans[tail], fresh, nil)
		chanMsgs += n
	}
	start := lg.Head() // where the topic's backlog begins
	if appendErr == nil {
		appendErr = step("appending " + t.Name)
	}
	if appendErr == nil {
		topicMsgs, appendErr = appendAll(&topicPlan, nil, nil)
	}
	if err := errors.Join(appendErr, lg.Close()); err != nil {
		return err
	}

	for i, c := range t.Channels {
		cps[i].Paused = c.Paused
		if i != tail {
			cps[i].Cursor = start
		}
		b, err := json.Marshal(&cps[i])
		if err != nil {
			return err
		}
		if err := queue.WriteFileAtomic(filepath.Join(dir, "channels", c.Name+".json"), b); err != nil {
			return err
		}
	}
	tm := topicMeta{Paused: t.Paused, HoldPos: start}
	if t.Paused {
		tm.PausePos = start
	}
	b, err := json.Marshal(&tm)
	if err != nil {
		return err
	}
	if err := queue.WriteFileAtomic(filepath.Join(dir, "topic.json"), b); err != nil {
		return err
	}
	if err := queue.SyncDir(dir); err != nil {
		return err
	}
	im.rep.Topics++
	im.rep.Channels += len(t.Channels)
	im.rep.Messages += chanMsgs + topicMsgs
	im.logf("MIGRATE: TOPIC(%s): %d message(s) for every channel, %d for single channels, %d channel(s)%s",
		t.Name, topicMsgs, chanMsgs, len(t.Channels), pausedNote(t.Paused))
	return nil
}

func pausedNote(p bool) string {
	if p {
		return ", paused"
	}
	return ""
}

// move renames every topic of j from the staging directory into topics/,
// skipping those a previous, interrupted run already moved.
func (im *importer) move(j *journal) error {
	topics := filepath.Join(im.dataPath, topicsDir)
	if err := os.MkdirAll(topics, 0o755); err != nil {
		return err
	}
	if err := queue.SyncDir(im.dataPath); err != nil {
		return err
	}
	for _, name := range j.Topics {
		src := filepath.Join(im.stage, topicsDir, name)
		dst := filepath.Join(topics, name)
		_, serr := os.Lstat(src)
		_, derr := os.Lstat(dst)
		switch {
		case serr == nil && derr == nil:
			return fmt.Errorf("%w: %s appeared while an import was under way; move it aside", ErrTopicExists, dst)
		case serr != nil && derr == nil:
			continue // moved before an interruption
		case serr != nil:
			return fmt.Errorf("migrate: %s is in the import journal but neither in %s nor in %s", name, filepath.Dir(src), topics)
		}
		if err := os.Rename(src, dst); err != nil {
			return err
		}
		if err := errors.Join(queue.SyncDir(topics), queue.SyncDir(filepath.Dir(src))); err != nil {
			return err
		}
		if err := step("moved " + name); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns m's keys in order, for deterministic logs.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
