package nsqd

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire"
)

// TestRDYBoundsInFlight: a consumer never holds more than its RDY count.
func TestRDYBoundsInFlight(t *testing.T) {
	n := startNSQD(t, nil)
	p := dialRaw(t, n)
	for i := 0; i < 10; i++ {
		p.cmdBody("PUB rdy", []byte(fmt.Sprintf("m%d", i)))
		p.expectResponse("OK")
	}
	c := dialRaw(t, n)
	c.subscribe("rdy", "ch", 3)
	var ids []wire.MessageID
	for i := 0; i < 3; i++ {
		m := c.readMessage()
		if m.Attempts != 1 || string(m.Body) != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d: attempts %d body %q", i, m.Attempts, m.Body)
		}
		ids = append(ids, m.ID)
	}
	waitFor(t, "3 in flight, 7 queued", func() bool {
		d, inf, _, _, _ := channelStat(t, n, "rdy", "ch")
		return d == 7 && inf == 3
	})
	// Finishing one frees exactly one slot: the next message is m3.
	c.cmd("FIN " + string(ids[0][:]))
	if m := c.readMessage(); string(m.Body) != "m3" {
		t.Fatalf("after FIN got %q, want m3", m.Body)
	}
	// A FIN of a message no longer in flight is a non-fatal E_FIN_FAILED.
	c.cmd("FIN " + string(ids[0][:]))
	c.expectError("E_FIN_FAILED FIN " + string(ids[0][:]) + " failed ID not in flight")
	c.cmd("NOP")
	d, inf, _, clients, _ := channelStat(t, n, "rdy", "ch")
	if d != 6 || inf != 3 || clients != 1 {
		t.Fatalf("depth %d in-flight %d clients %d, want 6 3 1", d, inf, clients)
	}
}

// TestRequeueWithDelay: REQ with a delay is not delivered again before it.
func TestRequeueWithDelay(t *testing.T) {
	n := startNSQD(t, nil)
	c := dialRaw(t, n)
	c.subscribe("req", "ch", 1)
	p := dialRaw(t, n)
	p.cmdBody("PUB req", []byte("hello"))
	p.expectResponse("OK")
	m := c.readMessage()
	start := time.Now()
	c.cmd("REQ " + string(m.ID[:]) + " 1000") // long enough to see it deferred on a slow machine
	waitFor(t, "deferred", func() bool {
		_, _, def, _, _ := channelStat(t, n, "req", "ch")
		return def == 1
	})
	m2 := c.readMessage()
	if el := time.Since(start); el < time.Second {
		t.Fatalf("requeued message delivered after %s, before its 1s delay", el)
	}
	if m2.ID != m.ID || m2.Attempts != 2 || string(m2.Body) != "hello" {
		t.Fatalf("redelivery: id %s attempts %d body %q", m2.ID[:], m2.Attempts, m2.Body)
	}
	c.cmd("FIN " + string(m2.ID[:]))
	waitFor(t, "finished", func() bool {
		d, inf, def, _, _ := channelStat(t, n, "req", "ch")
		return d == 0 && inf == 0 && def == 0
	})
}

// TestTimeoutRedelivery: an unfinished message times out and comes back
// with attempts+1; a FIN after the timeout fails.
func TestTimeoutRedelivery(t *testing.T) {
	n := startNSQD(t, func(o *Options) { o.QueueScanInterval = 20 * time.Millisecond })
	c := dialRaw(t, n)
	c.identify(map[string]any{"msg_timeout": 1000})
	c.subscribe("to", "ch", 1)
	p := dialRaw(t, n)
	p.cmdBody("PUB to", []byte("x"))
	p.expectResponse("OK")
	m := c.readMessage()
	start := time.Now()
	m2 := c.readMessage()
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Fatalf("redelivered after %s, before the 1s msg_timeout", el)
	}
	if m2.ID != m.ID || m2.Attempts != 2 {
		t.Fatalf("redelivery id %s attempts %d", m2.ID[:], m2.Attempts)
	}
	waitFor(t, "timeout counted", func() bool {
		for _, tp := range getStats(t, n).Topics {
			for _, ch := range tp.Channels {
				if ch.TimeoutCount == 1 {
					return true
				}
			}
		}
		return false
	})
}

// TestTouchExtends: TOUCH keeps a message in flight past its timeout.
func TestTouchExtends(t *testing.T) {
	n := startNSQD(t, func(o *Options) { o.QueueScanInterval = 20 * time.Millisecond })
	c := dialRaw(t, n)
	c.identify(map[string]any{"msg_timeout": 1000})
	c.subscribe("touch", "ch", 1)
	p := dialRaw(t, n)
	p.cmdBody("PUB touch", []byte("x"))
	p.expectResponse("OK")
	m := c.readMessage()
	end := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(end) {
		c.cmd("TOUCH " + string(m.ID[:]))
		time.Sleep(200 * time.Millisecond) // pacing the client, not waiting for a condition
	}
	// Had it timed out, a redelivery (attempts 2) would arrive before the
	// answer to the second FIN below.
	c.cmd("FIN " + string(m.ID[:]))
	c.cmd("FIN " + string(m.ID[:]))
	c.expectError("E_FIN_FAILED FIN " + string(m.ID[:]) + " failed ID not in flight")
}

// TestDPUBNeverEarly: a deferred publish is delivered no earlier than asked.
func TestDPUBNeverEarly(t *testing.T) {
	n := startNSQD(t, func(o *Options) { o.QueueScanInterval = 10 * time.Millisecond })
	c := dialRaw(t, n)
	c.subscribe("dpub", "ch", 10)
	p := dialRaw(t, n)
	start := time.Now()
	p.cmdBody("DPUB dpub 1000", []byte("later")) // long enough to count it deferred on a slow machine
	p.expectResponse("OK")
	p.cmdBody("PUB dpub", []byte("now"))
	p.expectResponse("OK")
	if m := c.readMessage(); string(m.Body) != "now" {
		t.Fatalf("first delivery %q, want now", m.Body)
	}
	_, _, def, _, _ := channelStat(t, n, "dpub", "ch")
	if def != 1 {
		t.Fatalf("deferred_count %d, want 1", def)
	}
	m := c.readMessage()
	if el := time.Since(start); el < time.Second {
		t.Fatalf("DPUB delivered after %s, before 1s", el)
	}
	if string(m.Body) != "later" || m.Attempts != 1 {
		t.Fatalf("got %q attempts %d", m.Body, m.Attempts)
	}
}

// TestEphemeralCleanup: an ephemeral channel goes away with its last
// consumer, and an ephemeral topic with its last channel.
func TestEphemeralCleanup(t *testing.T) {
	n := startNSQD(t, nil)
	c := dialRaw(t, n)
	c.subscribe("eph#ephemeral", "ch#ephemeral", 1)
	d := dialRaw(t, n)
	d.subscribe("durable", "ch#ephemeral", 1)
	if !topicExists(t, n, "eph#ephemeral") {
		t.Fatal("ephemeral topic missing")
	}
	c.conn.Close()
	d.conn.Close()
	waitFor(t, "ephemeral topic deleted", func() bool { return !topicExists(t, n, "eph#ephemeral") })
	waitFor(t, "ephemeral channel deleted", func() bool {
		_, _, _, _, ok := channelStat(t, n, "durable", "ch#ephemeral")
		return !ok
	})
	if !topicExists(t, n, "durable") {
		t.Fatal("durable topic deleted with its ephemeral channel")
	}
}

// TestProtocolErrors checks every error bad input gets, and whether the
// connection survives it, as upstream.
func TestProtocolErrors(t *testing.T) {
	n := startNSQD(t, func(o *Options) { o.MaxMsgSize = 100; o.MaxBodySize = 300 })
	size := func(v int32) string {
		return string(binary.BigEndian.AppendUint32(nil, uint32(v)))
	}
	const hb100 = `{"heartbeat_interval":100}`
	cases := []struct {
		name, in, want string
		fatal          bool
	}{
		{"unknown command", "FOO\n", "E_INVALID invalid command FOO", true},
		{"pub no topic", "PUB\n", "E_INVALID PUB insufficient number of parameters", true},
		{"pub bad topic", "PUB a*b\n" + size(1) + "x", `E_BAD_TOPIC PUB topic name "a*b" is not valid`, true},
		{"pub zero body", "PUB t\n" + size(0), "E_BAD_MESSAGE PUB invalid message body size 0", true},
		{"pub too big", "PUB t\n" + size(101), "E_BAD_MESSAGE PUB message too big 101 > 100", true},
		{"mpub too big", "MPUB t\n" + size(301), "E_BAD_BODY MPUB body too big 301 > 300", true},
		{"mpub bad count", "MPUB t\n" + size(4) + size(0), "E_BAD_BODY MPUB invalid message count 0", true},
		{"dpub bad timeout", "DPUB t abc\n", "E_INVALID DPUB could not parse timeout abc", true},
		{"dpub out of range", "DPUB t 3600001\n", "E_INVALID DPUB timeout 3600001 out of range 0-3600000", true},
		{"rdy before sub", "RDY 1\n", "E_INVALID cannot RDY in current state", true},
		{"fin before sub", "FIN 0000000000000000\n", "E_INVALID cannot FIN in current state", true},
		{"cls before sub", "CLS\n", "E_INVALID cannot CLS in current state", true},
		{"sub bad channel", "SUB t a*b\n", `E_BAD_CHANNEL SUB channel name "a*b" is not valid`, true},
		{"identify bad json", "IDENTIFY\n" + size(3) + "{{{", "E_BAD_BODY IDENTIFY failed to decode JSON body", true},
		{"identify bad heartbeat", "IDENTIFY\n" + size(int32(len(hb100))) + hb100, "E_BAD_BODY IDENTIFY heartbeat interval (100) is invalid", true},
		{"auth disabled", "AUTH\n" + size(1) + "x", "E_AUTH_DISABLED AUTH disabled", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, n)
			c.write([]byte(tc.in))
			c.expectError(tc.want)
			if tc.fatal {
				c.expectClosed()
			} else {
				c.cmd("NOP")
			}
		})
	}

	t.Run("bad magic", func(t *testing.T) {
		rc := dialPlain(t, n)
		rc.write([]byte("  V1"))
		rc.expectError("E_BAD_PROTOCOL")
		rc.expectClosed()
	})

	t.Run("non-fatal errors keep the connection", func(t *testing.T) {
		c := dialRaw(t, n)
		c.subscribe("t", "ch", 1)
		for _, verb := range []string{"FIN", "REQ", "TOUCH"} {
			line := verb + " 0123456789abcdef"
			if verb == "REQ" {
				line += " 0"
			}
			c.cmd(line)
			c.expectError("E_" + verb + "_FAILED " + verb + " 0123456789abcdef failed ID not in flight")
		}
		c.cmd("RDY 2501")
		c.expectError("E_INVALID RDY count 2501 out of range 0-2500")
		c.expectClosed()
	})

	t.Run("sub with heartbeats disabled", func(t *testing.T) {
		c := dialRaw(t, n)
		c.identify(map[string]any{"heartbeat_interval": -1})
		c.cmd("SUB t ch")
		c.expectError("E_INVALID cannot SUB with heartbeats disabled")
		c.expectClosed()
	})

	t.Run("others unaffected", func(t *testing.T) {
		c := dialRaw(t, n)
		c.cmdBody("PUB fine", []byte(strings.Repeat("x", 100)))
		c.expectResponse("OK")
	})
}

// TestFINBurstAnswersInOrder: FINs that arrive in one read are applied
// together (more than one batch's worth here), yet every failed one is
// answered, in order, before the answer to the next other command.
func TestFINBurstAnswersInOrder(t *testing.T) {
	n := startNSQD(t, nil)
	p := dialRaw(t, n)
	const count = 100
	for i := 0; i < count; i++ {
		p.cmdBody("PUB finb", []byte(fmt.Sprintf("m%d", i)))
		p.expectResponse("OK")
	}
	c := dialRaw(t, n)
	c.subscribe("finb", "ch", count)
	var ids []wire.MessageID
	for i := 0; i < count; i++ {
		ids = append(ids, c.readMessage().ID)
	}
	bogus := "00000000ffffffff"
	var burst []byte
	burst = append(burst, "FIN "+string(ids[0][:])+"\n"...)
	burst = append(burst, "FIN "+bogus+"\n"...)
	for _, id := range ids[1:] {
		burst = append(burst, "FIN "+string(id[:])+"\n"...)
	}
	burst = append(burst, "FIN "+string(ids[0][:])+"\nCLS\n"...)
	c.write(burst)
	c.expectError("E_FIN_FAILED FIN " + bogus + " failed ID not in flight")
	c.expectError("E_FIN_FAILED FIN " + string(ids[0][:]) + " failed ID not in flight")
	c.expectResponse("CLOSE_WAIT")
	d, inf, _, _, _ := channelStat(t, n, "finb", "ch")
	if d != 0 || inf != 0 {
		t.Fatalf("depth %d in-flight %d after finishing everything, want 0 0", d, inf)
	}
}
