package nsqd

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestManyTopicsCostWhatTheyHold (issue 15, item 1): topics that got one
// 1-byte message each (HTTP /pub) hold one segment file of one block each
// and nothing else on disk (no topic.json, no channels/, no journal), no
// descriptor each, and after kill -9 and a restart every message is
// delivered. cmd/internal/storagecheck runs the 10,000-topic version
// side by side with upstream (docs/BENCHMARKS.md).
func TestManyTopicsCostWhatTheyHold(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	c1 := startChild(t, dir)
	fdsBefore := countFDs(t, c1.cmd.Process.Pid)
	client := &http.Client{}
	for i := range n {
		resp, err := client.Post(fmt.Sprintf("http://%s/pub?topic=many%04d", c1.http, i), "application/octet-stream", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("pub %d: %s", i, resp.Status)
		}
	}
	// No descriptor per topic: whatever the broker opened for the HTTP
	// connections and its own files, far fewer than the topics.
	if fds := countFDs(t, c1.cmd.Process.Pid); fds-fdsBefore > 20 {
		t.Fatalf("%d topics took %d more open files", n, fds-fdsBefore)
	}
	c1.kill9(t)

	// On disk: per topic, its directory and one segment of one block.
	ents, err := os.ReadDir(filepath.Join(dir, "topics"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != n {
		t.Fatalf("%d topic directories, want %d", len(ents), n)
	}
	var blocks int64
	for _, e := range ents {
		files, err := os.ReadDir(filepath.Join(dir, "topics", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 || files[0].Name() != "00000000000000000000.seg" {
			var names []string
			for _, f := range files {
				names = append(names, f.Name())
			}
			t.Fatalf("%s holds %v, want one segment", e.Name(), names)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, "topics", e.Name(), files[0].Name()), &st); err != nil {
			t.Fatal(err)
		}
		blocks += st.Blocks * 512
	}
	if want := int64(n * 4096); blocks != want {
		t.Fatalf("segments take %d bytes on disk, want %d (one 4 KiB block each)", blocks, want)
	}

	c2 := startChild(t, dir)
	for i := range n {
		conn := dialAddr(t, c2.tcp)
		conn.subscribe(fmt.Sprintf("many%04d", i), "ch", 1)
		m := conn.readMessage()
		if string(m.Body) != "x" {
			t.Fatalf("topic %d: got %q", i, m.Body)
		}
		conn.cmd("FIN " + string(m.ID[:]))
		conn.conn.Close()
	}
}

func countFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	return len(ents)
}
