package nsqd

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"
)

// counter is a go-nsq handler that counts each distinct body once and
// tracks the most messages it held at once.
type counter struct {
	mu      sync.Mutex
	seen    map[string]int
	total   atomic.Int64
	holding atomic.Int64
	maxHeld atomic.Int64
	hold    time.Duration
}

func newCounter() *counter { return &counter{seen: map[string]int{}} }

func (c *counter) HandleMessage(m *gonsq.Message) error {
	h := c.holding.Add(1)
	for {
		old := c.maxHeld.Load()
		if h <= old || c.maxHeld.CompareAndSwap(old, h) {
			break
		}
	}
	if c.hold > 0 {
		time.Sleep(c.hold) // simulates work, so messages overlap
	}
	c.mu.Lock()
	c.seen[string(m.Body)]++
	c.mu.Unlock()
	c.holding.Add(-1)
	c.total.Add(1)
	return nil
}

func (c *counter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func publishN(t *testing.T, p *gonsq.Producer, topic string, n int) {
	t.Helper()
	batch := make([][]byte, 0, 50)
	for i := 0; i < n; i++ {
		batch = append(batch, []byte(fmt.Sprintf("%s-%d", topic, i)))
		if len(batch) == cap(batch) || i == n-1 {
			if err := p.MultiPublish(topic, batch); err != nil {
				t.Fatalf("MultiPublish: %v", err)
			}
			batch = batch[:0]
		}
	}
}

// TestGoNSQSharedChannel: several go-nsq consumers on one channel split the
// messages, each exactly once, none holding more than its max-in-flight.
func TestGoNSQSharedChannel(t *testing.T) {
	n := startNSQD(t, nil)
	const N = 3000
	var hs []*counter
	for i := 0; i < 3; i++ {
		cfg := gonsq.NewConfig()
		cfg.MaxInFlight = 4
		h := newCounter()
		hs = append(hs, h)
		c, err := gonsq.NewConsumer("shared", "ch", cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.SetLogger(quietLogger())
		c.AddConcurrentHandlers(h, 8)
		h.hold = 100 * time.Microsecond
		if err := c.ConnectToNSQD(n.TCPAddr().String()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Stop(); <-c.StopChan })
	}
	// All three subscribed before the messages: otherwise the first two
	// may drain them before the third's SUB lands.
	waitFor(t, "three subscribers", func() bool { return subscribers(n, "shared", "ch") == 3 })
	publishN(t, newProducer(t, n), "shared", N)
	waitFor(t, "all delivered", func() bool {
		var sum int64
		for _, h := range hs {
			sum += h.total.Load()
		}
		return sum >= N
	})
	seen := map[string]int{}
	for i, h := range hs {
		if h.total.Load() == 0 {
			t.Errorf("consumer %d got nothing", i)
		}
		if m := h.maxHeld.Load(); m > 4 {
			t.Errorf("consumer %d held %d messages at once, max-in-flight 4", i, m)
		}
		h.mu.Lock()
		for k, v := range h.seen {
			seen[k] += v
		}
		h.mu.Unlock()
	}
	if len(seen) != N {
		t.Fatalf("distinct messages %d, want %d", len(seen), N)
	}
	for k, v := range seen {
		if v != 1 {
			t.Fatalf("message %s delivered %d times", k, v)
		}
	}
}

// TestGoNSQFanout: every channel gets every message.
func TestGoNSQFanout(t *testing.T) {
	n := startNSQD(t, nil)
	const N = 2000
	var hs []*counter
	for i := 0; i < 3; i++ {
		h := newCounter()
		hs = append(hs, h)
		cfg := gonsq.NewConfig()
		cfg.MaxInFlight = 100
		newConsumer(t, n, "fan", fmt.Sprintf("ch%d", i), cfg, h)
	}
	waitFor(t, "3 channels", func() bool {
		for i := 0; i < 3; i++ {
			if _, _, _, c, ok := channelStat(t, n, "fan", fmt.Sprintf("ch%d", i)); !ok || c != 1 {
				return false
			}
		}
		return true
	})
	publishN(t, newProducer(t, n), "fan", N)
	for i, h := range hs {
		waitFor(t, fmt.Sprintf("channel %d complete", i), func() bool { return h.total.Load() >= N })
		if d := h.distinct(); d != N || h.total.Load() != N {
			t.Fatalf("channel %d: %d distinct, %d total, want %d", i, d, h.total.Load(), N)
		}
	}
}

// TestGoNSQRequeue: a handler error requeues (go-nsq sends REQ with its
// backoff delay) and the message comes back with attempts+1.
func TestGoNSQRequeue(t *testing.T) {
	n := startNSQD(t, nil)
	var attempts sync.Map
	var done atomic.Int64
	cfg := gonsq.NewConfig()
	cfg.DefaultRequeueDelay = 50 * time.Millisecond
	cfg.MaxBackoffDuration = 10 * time.Millisecond
	newConsumer(t, n, "rq", "ch", cfg, gonsq.HandlerFunc(func(m *gonsq.Message) error {
		attempts.Store(string(m.Body), m.Attempts)
		if m.Attempts < 3 {
			return fmt.Errorf("again")
		}
		done.Add(1)
		return nil
	}))
	p := newProducer(t, n)
	for i := 0; i < 10; i++ {
		if err := p.Publish("rq", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all finished on attempt 3", func() bool { return done.Load() == 10 })
	attempts.Range(func(k, v any) bool {
		if v.(uint16) != 3 {
			t.Errorf("message %s finished at attempt %d", k, v)
		}
		return true
	})
	waitFor(t, "requeue count 20", func() bool {
		for _, tp := range getStats(t, n).Topics {
			for _, ch := range tp.Channels {
				if tp.TopicName == "rq" && ch.RequeueCount == 20 && ch.InFlightCount == 0 {
					return true
				}
			}
		}
		return false
	})
}

// TestPauseEmptyDelete drives the HTTP actions and checks their effects on
// delivery.
func TestPauseEmptyDelete(t *testing.T) {
	n := startNSQD(t, nil)
	if code, body := httpPost(t, n, "/channel/create?topic=pt&channel=ch", ""); code != 404 || body != `{"message":"TOPIC_NOT_FOUND"}` {
		t.Fatalf("channel/create before topic: %d %s", code, body)
	}
	if code, body := httpPost(t, n, "/topic/create?topic=pt", ""); code != 200 {
		t.Fatalf("topic/create: %d %s", code, body)
	}
	if code, body := httpPost(t, n, "/channel/create?topic=pt&channel=ch", ""); code != 200 {
		t.Fatalf("channel/create: %d %s", code, body)
	}
	if code, _ := httpPost(t, n, "/topic/pause?topic=pt", ""); code != 200 {
		t.Fatal("pause failed")
	}
	p := newProducer(t, n)
	publishN(t, p, "pt", 10)
	// Paused topic: its messages wait in the topic, not the channel.
	var st statsDoc
	waitFor(t, "topic depth 10", func() bool {
		st = getStats(t, n)
		return len(st.Topics) == 1 && st.Topics[0].Depth == 10
	})
	if !st.Topics[0].Paused || st.Topics[0].Channels[0].Depth != 0 {
		t.Fatalf("paused topic stats: %+v", st.Topics[0])
	}
	if code, _ := httpPost(t, n, "/topic/empty?topic=pt", ""); code != 200 {
		t.Fatal("empty failed")
	}
	if code, _ := httpPost(t, n, "/topic/unpause?topic=pt", ""); code != 200 {
		t.Fatal("unpause failed")
	}
	publishN(t, p, "pt", 5)
	waitFor(t, "channel depth 5", func() bool {
		d, _, _, _, _ := channelStat(t, n, "pt", "ch")
		return d == 5
	})
	// A paused channel delivers nothing; emptying drops its backlog.
	httpPost(t, n, "/channel/pause?topic=pt&channel=ch", "")
	h := newCounter()
	newConsumer(t, n, "pt", "ch", nil, h)
	waitFor(t, "consumer connected", func() bool {
		_, _, _, c, _ := channelStat(t, n, "pt", "ch")
		return c == 1
	})
	if code, _ := httpPost(t, n, "/channel/empty?topic=pt&channel=ch", ""); code != 200 {
		t.Fatal("channel empty failed")
	}
	httpPost(t, n, "/channel/unpause?topic=pt&channel=ch", "")
	publishN(t, p, "pt", 3)
	waitFor(t, "3 delivered", func() bool { return h.total.Load() == 3 })
	for k := range h.seen {
		if k != "pt-0" && k != "pt-1" && k != "pt-2" {
			t.Fatalf("delivered %q, which was emptied", k)
		}
	}
	// Deleting the channel disconnects its consumer; deleting the topic
	// removes it from /stats.
	if code, _ := httpPost(t, n, "/channel/delete?topic=pt&channel=ch", ""); code != 200 {
		t.Fatal("channel delete failed")
	}
	if _, _, _, _, ok := channelStat(t, n, "pt", "ch"); ok {
		t.Fatal("channel still listed")
	}
	if code, _ := httpPost(t, n, "/topic/delete?topic=pt", ""); code != 200 {
		t.Fatal("topic delete failed")
	}
	if topicExists(t, n, "pt") {
		t.Fatal("topic still listed")
	}
}

// TestFirstChannelGetsBacklog: messages published before any channel
// exists go to the first channel created, as upstream.
func TestFirstChannelGetsBacklog(t *testing.T) {
	n := startNSQD(t, nil)
	publishN(t, newProducer(t, n), "early", 20)
	h := newCounter()
	newConsumer(t, n, "early", "first", nil, h)
	waitFor(t, "backlog delivered", func() bool { return h.total.Load() == 20 })
	// A channel created later starts at the head.
	h2 := newCounter()
	newConsumer(t, n, "early", "second", nil, h2) // returns once subscribed
	publishN(t, newProducer(t, n), "early", 1)
	waitFor(t, "new message", func() bool { return h2.total.Load() == 1 })
}

// TestPingAndInfo is a smoke check that the HTTP API is wired in.
func TestPingAndInfo(t *testing.T) {
	n := startNSQD(t, nil)
	resp, err := http.Get(httpURL(n, "/ping"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/ping %d", resp.StatusCode)
	}
}
