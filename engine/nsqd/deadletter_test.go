package nsqd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire"
)

// nextMessage reads the next message frame, or reports a read timeout
// (after d) or a closed connection as ok false.
func (c *rawConn) nextMessage(d time.Duration) (wire.Message, bool) {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(d))
		ft, data, err := wire.ReadFrame(c.r, c.buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return wire.Message{}, false
			}
			c.t.Fatalf("read frame: %v", err)
		}
		switch {
		case ft == wire.FrameTypeResponse && string(data) == "_heartbeat_":
			c.cmd("NOP")
			continue
		case ft != wire.FrameTypeMessage:
			c.t.Fatalf("frame %d %q", ft, data)
		}
		m, ok := wire.ParseMessage(append([]byte(nil), data...))
		if !ok {
			c.t.Fatalf("bad message frame %q", data)
		}
		return m, true
	}
}

// TestDeadLetterKill9: a consumer requeues every message; nsqd
// (--max-attempts=2) moves each to t.c.dead after its second delivery, and
// is killed with SIGKILL at random moments meanwhile, several times. In
// the end every published message is in the dead-letter topic (at least
// once: a kill between the append and the channel's next checkpoint moves
// one again), and nothing else is.
func TestDeadLetterKill9(t *testing.T) {
	const N = 400
	dir := t.TempDir()
	env := childMaxAttemptsEnv + "=2"
	c := startChild(t, dir, env)
	var bodies []string
	for i := 0; i < N; i++ {
		bodies = append(bodies, fmt.Sprintf("m%04d", i))
	}
	resp, err := http.Post("http://"+c.http+"/mpub?topic=t", "text/plain", strings.NewReader(strings.Join(bodies, "\n")))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("mpub: %v %v", resp, err)
	}
	resp.Body.Close()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	requeue := func(sub *rawConn, stopAfter int) int {
		n := 0
		for n < stopAfter {
			m, ok := sub.nextMessage(300 * time.Millisecond)
			if !ok {
				break
			}
			sub.cmd("REQ " + string(m.ID[:]) + " 0")
			n++
		}
		return n
	}
	for kill := 0; kill < 4; kill++ {
		sub := dialAddr(t, c.tcp)
		sub.subscribe("t", "c", 20)
		requeue(sub, 20+rng.IntN(200))
		c.kill9(t)
		c = startChild(t, dir, env)
	}
	sub := dialAddr(t, c.tcp)
	sub.subscribe("t", "c", 20)
	for requeue(sub, 1<<30) > 0 {
	}

	dead := dialAddr(t, c.tcp)
	dead.subscribe("t.c.dead", "all", 100)
	seen := map[string]int{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < N && time.Now().Before(deadline) {
		m, ok := dead.nextMessage(time.Second)
		if !ok {
			continue
		}
		seen[string(m.Body)]++
		dead.cmd("FIN " + string(m.ID[:]))
	}
	dups := 0
	for _, b := range bodies {
		dups += max(seen[b]-1, 0)
		if seen[b] == 0 {
			t.Fatalf("%s never reached the dead-letter topic (%d of %d did)", b, len(seen), N)
		}
		delete(seen, b)
	}
	if len(seen) != 0 {
		t.Fatalf("unexpected dead letters: %v", seen)
	}
	t.Logf("%d messages dead-lettered, %d of them twice or more", N, dups)
}
