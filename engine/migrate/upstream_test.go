package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []dqMeta{
		{},
		{Depth: 7, ReadFileNum: 1, ReadPos: 120, WriteFileNum: 3, WritePos: 4096},
		{Depth: -2, ReadFileNum: 1 << 40, WriteFileNum: 1 << 40, ReadPos: 1, WritePos: 1},
	} {
		b := appendMeta(nil, m)
		got, err := parseMeta(b)
		if err != nil || got != m {
			t.Errorf("parseMeta(%q) = %+v, %v; want %+v", b, got, err, m)
		}
	}
}

func TestParseMeta(t *testing.T) {
	good := map[string]dqMeta{
		"3\n0,52\n1,104\n": {Depth: 3, ReadPos: 52, WriteFileNum: 1, WritePos: 104},
		"3\n0,52\n1,104":   {Depth: 3, ReadPos: 52, WriteFileNum: 1, WritePos: 104},
		"-1\n2,0\n2,0\n":   {Depth: -1, ReadFileNum: 2, WriteFileNum: 2},
	}
	for in, want := range good {
		if got, err := parseMeta([]byte(in)); err != nil || got != want {
			t.Errorf("parseMeta(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "3", "3\n0,52", "3\n0,52\n1", "3\n0,-1\n1,104\n", "3\n0;52\n1,104\n",
		"3\n0,52\n1,104\n\n", "x\n0,0\n0,0\n", "3\n0,52\n1,104\nextra"} {
		if m, err := parseMeta([]byte(in)); !errors.Is(err, errMetaSyntax) {
			t.Errorf("parseMeta(%q) = %+v, %v; want errMetaSyntax", in, m, err)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	m := UpstreamMessage{ID: [16]byte{'0', '1', 'a', 'f'}, Timestamp: 1700000000123456789, Attempts: 3, Body: []byte("hello")}
	rec := appendRecord(nil, appendMessage(nil, &m))
	if len(rec) != 4+26+5 {
		t.Fatalf("record is %d bytes", len(rec))
	}
	payload, n, err := splitRecord(append(rec, 0xff))
	if err != nil || n != len(rec) {
		t.Fatalf("splitRecord: n=%d err=%v", n, err)
	}
	got, err := decodeMessage(payload)
	if err != nil || got.ID != m.ID || got.Timestamp != m.Timestamp || got.Attempts != m.Attempts || !bytes.Equal(got.Body, m.Body) {
		t.Fatalf("decodeMessage = %+v, %v; want %+v", got, err, m)
	}
	// Upstream's layout, byte for byte: timestamp, attempts, ID, body.
	want := []byte{0, 0, 0, 31, 0x17, 0x97, 0x9c, 0xfe, 0x3d, 0x85, 0xcd, 0x15, 0, 3, '0', '1', 'a', 'f'}
	if !bytes.Equal(rec[:len(want)], want) {
		t.Fatalf("record starts % x, want % x", rec[:len(want)], want)
	}
}

func TestSplitRecordErrors(t *testing.T) {
	if _, n, err := splitRecord([]byte{0, 0}); !errors.Is(err, errShort) || n != 4 {
		t.Errorf("2 bytes: n=%d err=%v", n, err)
	}
	if _, n, err := splitRecord([]byte{0, 0, 0, 40, 1}); !errors.Is(err, errShort) || n != 44 {
		t.Errorf("partial: n=%d err=%v", n, err)
	}
	for _, size := range [][]byte{{0, 0, 0, 25}, {0xff, 0xff, 0xff, 0xff}, {0x7f, 0xff, 0xff, 0xff}} {
		if _, _, err := splitRecord(size); !errors.Is(err, errBadSize) {
			t.Errorf("size % x: err=%v, want errBadSize", size, err)
		}
	}
}

func TestParseDQFileName(t *testing.T) {
	cases := []struct {
		in    string
		queue string
		num   int64
		meta  bool
		ok    bool
	}{
		{"orders.diskqueue.000000.dat", "orders", 0, false, true},
		{"a.b.c:ch.x.diskqueue.000017.dat", "a.b.c:ch.x", 17, false, true},
		{"t.diskqueue.1234567.dat", "t", 1234567, false, true},
		{"t:c.diskqueue.meta.dat", "t:c", 0, true, true},
		{"t.diskqueue.000001.dat.bad", "", 0, false, false},
		{"t.diskqueue.meta.dat.123.tmp", "", 0, false, false},
		{"t.diskqueue.01.dat", "", 0, false, false},
		{".diskqueue.000000.dat", "", 0, false, false},
		{"nsqd.dat", "", 0, false, false},
	}
	for _, c := range cases {
		q, n, meta, ok := parseDQFileName(c.in)
		if q != c.queue || n != c.num || meta != c.meta || ok != c.ok {
			t.Errorf("parseDQFileName(%q) = %q %d %v %v", c.in, q, n, meta, ok)
		}
	}
}

// goldenDir holds a data path left by upstream's nsqd v1.3.0 itself
// (--max-bytes-per-file=200, --mem-queue-size=2): topic seed with channel
// ch, paused, 8 messages published, 1 and 3 finished, 2 in flight at
// SIGTERM; topic held, paused, no channel, 3 messages. ':' in file names is
// stored as '+' (not a valid name character) for portable checkouts.
const goldenDir = "testdata/upstream-v1.3.0"

func copyGolden(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ents, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		b, err := os.ReadFile(filepath.Join(goldenDir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, strings.ReplaceAll(de.Name(), "+", ":")), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fileMessages decodes every record of upstream data files.
func fileMessages(t *testing.T, paths ...string) []UpstreamMessage {
	t.Helper()
	var out []UpstreamMessage
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for len(b) > 0 {
			payload, n, err := splitRecord(b)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			m, err := decodeMessage(payload)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
			b = b[n:]
		}
	}
	return out
}

// TestWriterMatchesUpstream: given the messages upstream wrote, our writer
// produces upstream's files byte for byte: nsqd.dat, the metadata files and
// the data files, rolled over at the same places.
func TestWriterMatchesUpstream(t *testing.T) {
	up := copyGolden(t)
	var md UpstreamMetadata
	b, err := os.ReadFile(filepath.Join(up, metadataFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	ch := fileMessages(t, filepath.Join(up, dqDataName("seed:ch", 0)), filepath.Join(up, dqDataName("seed:ch", 1)))
	held := fileMessages(t, filepath.Join(up, dqDataName("held", 0)))
	ours := t.TempDir()
	err = WriteUpstream(ours, md, 200, map[string]UpstreamQueue{
		"seed":    {},
		"seed:ch": {Consumed: ch[:1], Backlog: ch[1:]},
		"held":    {Backlog: held},
	})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadDir(up)
	got, _ := os.ReadDir(ours)
	if len(got) != len(want) {
		t.Fatalf("wrote %d files, upstream %d", len(got), len(want))
	}
	for _, de := range want {
		w, _ := os.ReadFile(filepath.Join(up, de.Name()))
		g, err := os.ReadFile(filepath.Join(ours, de.Name()))
		if err != nil || !bytes.Equal(g, w) {
			t.Errorf("%s: wrote %q (%v), upstream %q", de.Name(), g, err, w)
		}
	}
}

// TestImportUpstreamGolden imports the data path upstream left.
func TestImportUpstreamGolden(t *testing.T) {
	dir := copyGolden(t)
	if _, err := Import(dir, 0, nil); err != nil {
		t.Fatal(err)
	}
	got, attempts, paused := delivered(t, dir)
	want := map[string][]string{
		"seed/ch": {"seed message 2", "seed message 4", "seed message 5", "seed message 6", "seed message 7", "seed message 8"},
		"held/":   {"held message 1", "held message 2", "held message 3"},
	}
	if len(got) != len(want) || !slices.Equal(got["seed/ch"], want["seed/ch"]) || !slices.Equal(got["held/"], want["held/"]) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if attempts["seed message 2"] != 1 {
		t.Errorf("the message in flight at upstream's shutdown has attempts %d, want 1", attempts["seed message 2"])
	}
	if !paused["seed/ch"] || !paused["held"] || len(paused) != 2 {
		t.Errorf("paused %v, want seed/ch and held", paused)
	}
}
