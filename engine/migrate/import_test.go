package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/nsqfast/nsq/queue"
)

// msgs returns n upstream messages with bodies "<prefix>-<i>".
func msgs(prefix string, n int, attempts uint16) []UpstreamMessage {
	out := make([]UpstreamMessage, n)
	for i := range out {
		out[i] = UpstreamMessage{Timestamp: int64(1e18) + int64(i), Attempts: attempts, Body: []byte(fmt.Sprintf("%s-%d", prefix, i))}
		copy(out[i].ID[:], fmt.Sprintf("%016x", i))
	}
	return out
}

func bodies(ms ...[]UpstreamMessage) []string {
	var out []string
	for _, m := range ms {
		for _, x := range m {
			out = append(out, string(x.Body))
		}
	}
	slices.Sort(out)
	return out
}

// scenario is an upstream data path and what each channel must deliver
// once imported.
type scenario struct {
	md     UpstreamMetadata
	queues map[string]UpstreamQueue
	// want maps "topic/channel" to the sorted bodies that channel delivers;
	// "topic/" is what a topic with no channel holds for its first one.
	want     map[string][]string
	attempts map[string]uint16 // body -> attempts it keeps
	paused   map[string]bool   // "topic" or "topic/channel" -> paused
	messages int64
}

const testFileSize = 1024 // small diskqueue files: backlogs span several

func newScenario() *scenario {
	s := &scenario{queues: map[string]UpstreamQueue{}, want: map[string][]string{}, attempts: map[string]uint16{}, paused: map[string]bool{}}
	s.md.Topics = []UpstreamTopic{
		{Name: "orders", Channels: []UpstreamChannel{{Name: "billing"}, {Name: "audit", Paused: true}, {Name: "empty"}, {Name: "bad name"}}},
		{Name: "held", Paused: true, Channels: []UpstreamChannel{{Name: "c"}}},
		{Name: "lonely"},
		{Name: "idle", Channels: []UpstreamChannel{{Name: "x"}}},
		{Name: "crashy", Channels: []UpstreamChannel{{Name: "ch"}, {Name: "ch2"}}},
		{Name: "not valid!"},
		{Name: "eph#ephemeral"},
		{Name: "orders"},
	}
	orders := msgs("orders", 200, 0)
	s.queues["orders"] = UpstreamQueue{Consumed: msgs("orders-old", 50, 0), Backlog: orders}
	billing := msgs("billing", 60, 2)
	s.queues["orders:billing"] = UpstreamQueue{Consumed: msgs("billing-old", 10, 1), Backlog: billing}
	audit := msgs("audit", 5, 1)
	s.queues["orders:audit"] = UpstreamQueue{Backlog: audit}
	s.want["orders/billing"] = bodies(billing, orders)
	s.want["orders/audit"] = bodies(audit, orders)
	s.want["orders/empty"] = bodies(orders)
	s.paused["orders/audit"] = true

	held, heldC := msgs("held", 7, 0), msgs("held-c", 3, 4)
	s.queues["held"] = UpstreamQueue{Backlog: held}
	s.queues["held:c"] = UpstreamQueue{Backlog: heldC}
	s.want["held/c"] = bodies(heldC, held)
	s.paused["held"] = true

	lonely := msgs("lonely", 20, 0)
	s.queues["lonely"] = UpstreamQueue{Consumed: msgs("lonely-old", 3, 0), Backlog: lonely}
	s.want["lonely/"] = bodies(lonely)

	s.want["idle/x"] = nil

	crashy, unsynced := msgs("crashy", 5, 0), msgs("crashy-unsynced", 3, 0)
	s.queues["crashy"] = UpstreamQueue{Backlog: crashy, Unsynced: unsynced}
	ch, ch2 := msgs("crashy-ch", 4, 1), msgs("crashy-ch2", 6, 0)
	s.queues["crashy:ch"] = UpstreamQueue{Backlog: ch, NoMeta: true}
	s.queues["crashy:ch2"] = UpstreamQueue{Backlog: ch2}
	s.want["crashy/ch"] = bodies(ch, crashy, unsynced)
	s.want["crashy/ch2"] = bodies(ch2, crashy, unsynced)

	s.queues["ghost"] = UpstreamQueue{Backlog: msgs("ghost", 2, 0)}

	for _, q := range []string{"orders:billing", "orders:audit", "held:c", "crashy:ch", "crashy:ch2"} {
		for _, m := range s.queues[q].Backlog {
			s.attempts[string(m.Body)] = m.Attempts
		}
	}
	s.messages = int64(len(orders) + len(billing) + len(audit) + len(held) + len(heldC) + len(lonely) +
		len(crashy) + len(unsynced) + len(ch) + len(ch2))
	return s
}

func (s *scenario) write(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteUpstream(dir, s.md, testFileSize, s.queues); err != nil {
		t.Fatal(err)
	}
	return dir
}

// delivered models what the engine delivers from an imported data path:
// for each channel, its pending entries and every record from its cursor to
// the head; for a topic with no channel, the records from hold_pos on.
func delivered(t *testing.T, dataPath string) (map[string][]string, map[string]uint16, map[string]bool) {
	t.Helper()
	got := map[string][]string{}
	attempts := map[string]uint16{}
	paused := map[string]bool{}
	ents, err := os.ReadDir(filepath.Join(dataPath, topicsDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		topic := strings.TrimSuffix(de.Name(), topicSuffix)
		dir := filepath.Join(dataPath, topicsDir, de.Name())
		lg, err := queue.Open(dir, queue.Options{NoPrefault: true})
		if err != nil {
			t.Fatal(err)
		}
		body := func(p queue.Pos) (string, queue.Pos) {
			rec, err := lg.Read(p)
			if err != nil {
				t.Fatalf("%s: read %+v: %v", topic, p, err)
			}
			return string(rec.Data[16:]), rec.Next
		}
		from := func(p queue.Pos) []string {
			var out []string
			for p.Seq < lg.Head().Seq {
				var b string
				b, p = body(p)
				out = append(out, b)
			}
			return out
		}
		var tm topicMeta
		readJSON(t, filepath.Join(dir, "topic.json"), &tm)
		if tm.Paused {
			paused[topic] = true
		}
		chans, err := os.ReadDir(filepath.Join(dir, "channels"))
		if err != nil {
			t.Fatal(err)
		}
		if len(chans) == 0 {
			list := from(tm.HoldPos)
			slices.Sort(list)
			got[topic+"/"] = list
		}
		for _, ce := range chans {
			key := topic + "/" + strings.TrimSuffix(ce.Name(), ".json")
			var cp checkpoint
			readJSON(t, filepath.Join(dir, "channels", ce.Name()), &cp)
			if cp.Paused {
				paused[key] = true
			}
			list := []string{}
			for _, p := range cp.Pending {
				b, _ := body(p.Pos)
				attempts[b] = p.Attempts
				list = append(list, b)
			}
			list = append(list, from(cp.Cursor)...)
			slices.Sort(list)
			if len(list) == 0 {
				list = nil
			}
			got[key] = list
		}
		if err := lg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return got, attempts, paused
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// check asserts that dataPath holds exactly what s expects, each message once
// per channel.
func (s *scenario) check(t *testing.T, dataPath string) {
	t.Helper()
	got, attempts, paused := delivered(t, dataPath)
	for key, want := range s.want {
		if !slices.Equal(got[key], want) {
			t.Errorf("%s delivers %d messages, want %d\n got %q\nwant %q", key, len(got[key]), len(want), got[key], want)
		}
	}
	for key := range got {
		if _, ok := s.want[key]; !ok {
			t.Errorf("unexpected %s", key)
		}
	}
	for b, a := range s.attempts {
		if attempts[b] != a {
			t.Errorf("%s: attempts %d, want %d", b, attempts[b], a)
		}
	}
	if !maps_equal(paused, s.paused) {
		t.Errorf("paused %v, want %v", paused, s.paused)
	}
	for _, f := range []string{metadataFile, stagingDir} {
		if _, err := os.Stat(filepath.Join(dataPath, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after the import (%v)", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dataPath, importedFile)); err != nil {
		t.Error(err)
	}
	// Upstream's files stay where they were.
	if _, err := os.Stat(filepath.Join(dataPath, dqMetaName("ghost"))); err != nil {
		t.Error(err)
	}
}

func maps_equal(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestImport(t *testing.T) {
	s := newScenario()
	dir := s.write(t)
	// The topic's diskqueue spans several files and its read position is in
	// the middle of one.
	mb, err := os.ReadFile(filepath.Join(dir, dqMetaName("orders")))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := parseMeta(mb); err != nil || m.ReadFileNum < 1 || m.ReadPos == 0 || m.WriteFileNum < m.ReadFileNum+2 {
		t.Fatalf("orders metadata %+v, %v: want a read position inside a file, two files before the last", m, err)
	}
	var lines []string
	rep, err := Import(dir, 4096, func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	s.check(t, dir)
	if !rep.Imported || rep.Topics != 5 || rep.Channels != 7 || rep.Messages != s.messages {
		t.Errorf("report %+v, want 5 topics, 7 channels, %d messages", rep, s.messages)
	}
	log := strings.Join(lines, "\n")
	for _, want := range []string{`topic "not valid!"`, `topic "eph#ephemeral"`, `"orders" listed twice`, `channel "bad name"`,
		"diskqueue ghost belongs to no topic", "diskqueue crashy: 141 bytes past", "diskqueue crashy:ch: no metadata file"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if rep.Warnings == 0 {
		t.Error("no warnings counted")
	}

	// Importing again does nothing: nsqd.dat is gone.
	rep, err = Import(dir, 4096, nil)
	if err != nil || rep.Imported {
		t.Fatalf("second Import: %+v, %v", rep, err)
	}
	s.check(t, dir)
}

func TestImportNothing(t *testing.T) {
	dir := t.TempDir()
	rep, err := Import(dir, 0, nil)
	if err != nil || rep.Imported {
		t.Fatalf("Import = %+v, %v", rep, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("Import created %v", ents)
	}
}

func TestImportRefusesExistingTopic(t *testing.T) {
	s := newScenario()
	dir := s.write(t)
	existing := filepath.Join(dir, topicsDir, "held"+topicSuffix)
	if err := os.MkdirAll(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Import(dir, 0, nil)
	if !errors.Is(err, ErrTopicExists) || !strings.Contains(err.Error(), "held") {
		t.Fatalf("Import = %v, want ErrTopicExists naming held", err)
	}
	if _, err := os.Stat(filepath.Join(dir, metadataFile)); err != nil {
		t.Fatal("nsqd.dat touched:", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, topicsDir)); len(ents) != 1 {
		t.Fatalf("topics/ holds %d entries, want the existing one only", len(ents))
	}
	if err := os.Remove(existing); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(dir, 0, nil); err != nil {
		t.Fatal(err)
	}
	s.check(t, dir)
}

func TestImportRefusesRunningUpstream(t *testing.T) {
	s := newScenario()
	dir := s.write(t)
	// Upstream's nsqd holds a flock on its data path directory.
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(dir, 0, nil); err == nil || !strings.Contains(err.Error(), "upstream nsqd") {
		t.Fatalf("Import = %v, want a lock error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, topicsDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Import wrote topics/ while upstream held the lock")
	}
}

func TestImportBadMetadata(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, metadataFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(dir, 0, nil); err == nil || !strings.Contains(err.Error(), "nsqd.dat") {
		t.Fatalf("Import = %v, want a parse error naming nsqd.dat", err)
	}
}

// TestImportDamagedRecords: a record with an impossible length ends its
// file (upstream skips the rest of a file it cannot parse); a torn record
// at the end of a file is dropped; the files after it are still read.
func TestImportDamagedRecords(t *testing.T) {
	dir := t.TempDir()
	md := UpstreamMetadata{Topics: []UpstreamTopic{{Name: "t"}}}
	all := msgs("t", 40, 0)
	if err := WriteUpstream(dir, md, 512, map[string]UpstreamQueue{"t": {Backlog: all}}); err != nil {
		t.Fatal(err)
	}
	f0 := filepath.Join(dir, dqDataName("t", 0))
	f1 := filepath.Join(dir, dqDataName("t", 1))
	b0, _ := os.ReadFile(f0)
	b1, _ := os.ReadFile(f1)
	per := len(appendRecord(nil, appendMessage(nil, &all[0]))) // every record has the same size
	n0, n1 := len(b0)/per, len(b1)/per
	// File 0: the third record's length is impossible.
	b0[2*per+3] = 1
	// File 1: the last record is cut short.
	b1 = b1[:len(b1)-5]
	if err := os.WriteFile(f0, b0, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f1, b1, 0o600); err != nil {
		t.Fatal(err)
	}
	var lines []string
	if _, err := Import(dir, 0, func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }); err != nil {
		t.Fatal(err)
	}
	got, _, _ := delivered(t, dir)
	want := bodies(all[:2], all[n0:n0+n1-1], all[n0+n1:])
	if !slices.Equal(got["t/"], want) {
		t.Fatalf("got %q\nwant %q", got["t/"], want)
	}
	log := strings.Join(lines, "\n")
	if !strings.Contains(log, "impossible record length") || !strings.Contains(log, "record incomplete") {
		t.Fatalf("log does not report the damage:\n%s", log)
	}
}
