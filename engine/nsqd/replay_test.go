package nsqd

import (
	"fmt"
	"testing"
	"time"
)

// TestReplayOverHTTP: with retention on, a channel rewinds to the oldest
// stored message and delivers everything again; a new channel can start
// from the oldest stored message.
func TestReplayOverHTTP(t *testing.T) {
	n := startNSQD(t, func(o *Options) { o.RetentionAge = time.Hour })
	p := dialRaw(t, n)
	c := dialRaw(t, n)
	c.subscribe("replay", "ch", 10)
	for i := 0; i < 10; i++ {
		p.cmdBody("PUB replay", []byte(fmt.Sprint(i)))
		p.expectResponse("OK")
	}
	for i := 0; i < 10; i++ {
		m := c.readMessage()
		c.cmd("FIN " + string(m.ID[:]))
	}
	waitFor(t, "all finished", func() bool {
		d, inf, _, _, _ := channelStat(t, n, "replay", "ch")
		return d == 0 && inf == 0
	})
	if code, body := httpPost(t, n, "/channel/rewind?topic=replay&channel=ch&to=oldest", ""); code != 200 || body != `{"seq":0}` {
		t.Fatalf("rewind: %d %s", code, body)
	}
	for i := 0; i < 10; i++ {
		m := c.readMessage()
		if string(m.Body) != fmt.Sprint(i) {
			t.Fatalf("replayed %q, want %d", m.Body, i)
		}
		c.cmd("FIN " + string(m.ID[:]))
	}
	if code, body := httpPost(t, n, "/channel/rewind?topic=replay&channel=ch&to=yesterday", ""); code != 400 || body != `{"message":"INVALID_ARG_TO"}` {
		t.Fatalf("bad rewind: %d %s", code, body)
	}
	if code, body := httpPost(t, n, "/channel/rewind?topic=replay&channel=nope&to=oldest", ""); code != 404 {
		t.Fatalf("rewind of a missing channel: %d %s", code, body)
	}
	if code, body := httpPost(t, n, "/channel/create?topic=replay&channel=late&start=oldest", ""); code != 200 {
		t.Fatalf("create from oldest: %d %s", code, body)
	}
	if d, _, _, _, _ := channelStat(t, n, "replay", "late"); d != 10 {
		t.Fatalf("new channel from oldest has depth %d, want 10", d)
	}
}
