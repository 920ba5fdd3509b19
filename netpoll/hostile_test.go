package netpoll

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/wire"
)

// gatedFS is the OS file system whose Msync waits while the gate is shut:
// a topic's sync that takes as long as the test wants.
type gatedFS struct {
	queue.FS
	mu   sync.Mutex
	shut chan struct{} // nil: open
}

func (g *gatedFS) close() {
	g.mu.Lock()
	g.shut = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedFS) open() {
	g.mu.Lock()
	if g.shut != nil {
		close(g.shut)
		g.shut = nil
	}
	g.mu.Unlock()
}

func (g *gatedFS) Msync(b []byte) error {
	g.mu.Lock()
	ch := g.shut
	g.mu.Unlock()
	if ch != nil {
		<-ch
	}
	return g.FS.Msync(b)
}

// A publisher whose OK waits for its topic's sync (--sync-every=1) and
// that pipelines megabytes of other commands behind it: the connection
// leaves the event loop once it holds more than the largest command and
// stops reading, so the client's writes block on the socket buffers; when
// the sync is done its OK comes, and what it sent is run.
func TestParkedSyncStopsReading(t *testing.T) {
	fs := &gatedFS{FS: queue.OS()}
	eng, err := engine.New(engine.Options{DataPath: t.TempDir(), SyncEvery: 1, FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Address: "127.0.0.1:0", MaxBodySize: 64 << 10}, eng)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fs.open()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		_ = eng.Close()
	})
	c, r := dial(t, s)
	pub := []byte("PUB parked\n")
	pub = binary.BigEndian.AppendUint32(pub, 1)
	pub = append(pub, 'x')
	// The topic's first publish: its segment exists and is synced before
	// the gate shuts.
	if _, err := c.Write(pub); err != nil {
		t.Fatal(err)
	}
	if ft, data := frame(t, r); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("first PUB: %d %q", ft, data)
	}

	fs.close()
	if _, err := c.Write(pub); err != nil { // its OK waits for the gate
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("NOP\n", 16<<10))
	_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	written := 0
	for written < 256<<20 && err == nil {
		var k int
		k, err = c.Write(chunk)
		written += k
	}
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("wrote %d bytes behind a publish waiting for its sync, err %v: the server kept reading", written, err)
	}
	if cs := s.Clients(); len(cs) != 1 || cs[0].up.Load() == nil {
		t.Fatalf("the waiting connection did not leave the event loop")
	}
	fs.open()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if ft, data := frame(t, r); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("the waiting PUB: %d %q, want OK", ft, data)
	}
	// The rest of what was written is read and run (NOPs, no answers);
	// a publish after it is answered in turn.
	if k := written % 4; k != 0 { // finish the NOP the timeout cut
		if _, err := c.Write([]byte("NOP\n")[k:]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Write(pub); err != nil {
		t.Fatal(err)
	}
	if ft, data := frame(t, r); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("the PUB behind: %d %q, want OK", ft, data)
	}
}
