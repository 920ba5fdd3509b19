package nsqd

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire"
)

// smallFS mounts a tmpfs of the given size for the test, or skips when the
// machine does not allow it (the fault-injection tests in queue/ cover the
// same paths without a mount).
func smallFS(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func ping(t *testing.T, n *NSQD) (int, string) {
	resp, err := http.Get(httpURL(n, "/ping"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDiskFull: when the disk fills, PUB answers E_PUB_FAILED and /ping
// turns unhealthy; consumers still receive every message that was
// acknowledged; once they free space, publishing resumes by itself.
func TestDiskFull(t *testing.T) {
	dir := smallFS(t, "3m")
	n := startNSQD(t, func(o *Options) {
		o.DataPath = dir
		o.MaxBytesPerFile = 256 << 10
		o.SyncTimeout = 50 * time.Millisecond
	})
	body := []byte(strings.Repeat("x", 4000))
	acked := 0
	p := dialRaw(t, n)
	for {
		p.cmdBody("PUB full", []byte(fmt.Sprintf("%06d%s", acked, body)))
		ft, data := p.readFrame()
		if ft == wire.FrameTypeResponse && string(data) == "OK" {
			acked++
			if acked > 5000 {
				t.Fatal("a 3 MiB filesystem never filled")
			}
			continue
		}
		if ft != wire.FrameTypeError || !strings.HasPrefix(string(data), "E_PUB_FAILED PUB failed ") {
			t.Fatalf("got %d %q, want E_PUB_FAILED", ft, data)
		}
		p.expectClosed()
		break
	}
	if code, body := ping(t, n); code != 500 || !strings.HasPrefix(body, "NOK - ") {
		t.Fatalf("/ping while full: %d %q", code, body)
	}
	// Other clients are still served: a consumer drains everything that was
	// acknowledged, in order.
	c := dialRaw(t, n)
	c.subscribe("full", "ch", 100)
	for i := 0; i < acked; i++ {
		m := c.readMessage()
		if want := fmt.Sprintf("%06d", i); string(m.Body[:6]) != want {
			t.Fatalf("message %d: got %q", i, m.Body[:6])
		}
		c.cmd("FIN " + string(m.ID[:]))
	}
	// Consumed segments are deleted; publishing resumes.
	waitFor(t, "publishing to resume", func() bool {
		q := dialRaw(t, n)
		q.cmdBody("PUB full", []byte("after"))
		ft, data := q.readFrame()
		q.conn.Close()
		return ft == wire.FrameTypeResponse && string(data) == "OK"
	})
	waitFor(t, "healthy again", func() bool { code, _ := ping(t, n); return code == 200 })
	if m := c.readMessage(); string(m.Body) != "after" {
		t.Fatalf("got %q after the disk freed up", m.Body)
	}
}
