package nsqd

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire"
)

// TestHeartbeats: the server sends _heartbeat_ every heartbeat_interval
// and closes a client that sends nothing for two intervals.
func TestHeartbeats(t *testing.T) {
	n := startNSQD(t, nil)
	c := dialRaw(t, n)
	// The server's clock for idleness starts when it reads our last byte,
	// which is after this.
	start := time.Now()
	c.identify(map[string]any{"heartbeat_interval": 1000})
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	ft, data, err := wire.ReadFrame(c.r, nil)
	if err != nil || ft != wire.FrameTypeResponse || string(data) != "_heartbeat_" {
		t.Fatalf("got %d %q %v, want a heartbeat", ft, data, err)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("heartbeat after %s, interval is 1s", el)
	}
	// Answer nothing: the server must hang up.
	for {
		_, _, err := wire.ReadFrame(c.r, nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("silent client not disconnected")
			}
			break
		}
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Fatalf("disconnected after %s, before two heartbeat intervals", el)
	}
}

// TestHeartbeatAnsweredKeepsConnection: a client that answers heartbeats
// with NOP stays connected.
func TestHeartbeatAnsweredKeepsConnection(t *testing.T) {
	n := startNSQD(t, nil)
	c := dialRaw(t, n)
	c.identify(map[string]any{"heartbeat_interval": 1000})
	for i := 0; i < 3; i++ {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		ft, data, err := wire.ReadFrame(c.r, nil)
		if err != nil || string(data) != "_heartbeat_" {
			t.Fatalf("heartbeat %d: %d %q %v", i, ft, data, err)
		}
		c.cmd("NOP")
	}
	c.cmdBody("PUB hb", []byte("x"))
	c.expectResponse("OK")
}

// TestUnixSocket: --tcp-address may be a filesystem path.
func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nsqd.sock")
	n := startNSQD(t, func(o *Options) { o.TCPAddress = sock })
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc := &rawConn{t: t, conn: conn, r: bufio.NewReader(conn)}
	rc.write([]byte(wire.MagicV2))
	rc.cmdBody("PUB unix", []byte("over a socket"))
	rc.expectResponse("OK")
	rc2, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	sub := &rawConn{t: t, conn: rc2, r: bufio.NewReader(rc2)}
	sub.write([]byte(wire.MagicV2))
	sub.subscribe("unix", "ch", 1)
	if m := sub.readMessage(); string(m.Body) != "over a socket" {
		t.Fatalf("got %q", m.Body)
	}
	_ = n
}

// TestIdentifyResponse: feature negotiation answers upstream's document.
func TestIdentifyResponse(t *testing.T) {
	n := startNSQD(t, nil)
	c := dialRaw(t, n)
	c.cmdBody("IDENTIFY", []byte(`{"feature_negotiation":true,"msg_timeout":5000,"output_buffer_size":4096,"output_buffer_timeout":100,"sample_rate":0}`))
	want := `{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":5000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":4096,"output_buffer_timeout":100}`
	c.expectResponse(want)
	// Without feature negotiation the answer is a bare OK.
	d := dialRaw(t, n)
	d.cmdBody("IDENTIFY", []byte(`{"client_id":"x"}`))
	d.expectResponse("OK")
	// IDENTIFY twice after SUB is refused.
	d.subscribe("idt", "ch", 0)
	d.cmdBody("IDENTIFY", []byte(`{}`))
	d.expectError("E_INVALID cannot IDENTIFY in current state")
	d.expectClosed()
}

// TestSampleRate: a sampling consumer gets only part of the messages; the
// rest are dropped for it, as upstream.
func TestSampleRate(t *testing.T) {
	n := startNSQD(t, nil)
	c := dialRaw(t, n)
	c.identify(map[string]any{"sample_rate": 10})
	c.subscribe("sample", "ch", 2500)
	p := dialRaw(t, n)
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 1000)
	for i := 0; i < 1000; i++ {
		m := []byte(fmt.Sprint(i))
		body = binary.BigEndian.AppendUint32(body, uint32(len(m)))
		body = append(body, m...)
	}
	p.cmdBody("MPUB sample", body)
	p.expectResponse("OK")
	waitFor(t, "channel drained", func() bool {
		d, _, _, _, _ := channelStat(t, n, "sample", "ch")
		return d == 0
	})
	_, inflight, _, _, _ := channelStat(t, n, "sample", "ch")
	if inflight == 0 || inflight >= 500 {
		t.Fatalf("sample_rate 10 delivered %d of 1000", inflight)
	}
}

// TestCLS: after CLS the server answers CLOSE_WAIT, stops delivering and
// still accepts FIN.
func TestCLS(t *testing.T) {
	n := startNSQD(t, nil)
	c := dialRaw(t, n)
	c.subscribe("cls", "ch", 1)
	p := dialRaw(t, n)
	p.cmdBody("PUB cls", []byte("a"))
	p.expectResponse("OK")
	m := c.readMessage()
	c.cmd("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.cmd("RDY 5") // ignored after CLS
	c.cmd("FIN " + string(m.ID[:]))
	c.cmd("FIN " + string(m.ID[:]))
	c.expectError("E_FIN_FAILED FIN " + string(m.ID[:]) + " failed ID not in flight")
}

// TestSlowConsumerDisconnected: a consumer that stops reading is
// disconnected after a heartbeat interval of undrained output (upstream's
// write deadline); its messages go back to the channel, and other clients
// are served meanwhile.
func TestSlowConsumerDisconnected(t *testing.T) {
	n := startNSQD(t, nil)
	slow := dialRaw(t, n)
	slow.identify(map[string]any{"heartbeat_interval": 1000})
	slow.subscribe("slow", "ch", 2500)
	p := dialRaw(t, n)
	body := make([]byte, 64<<10)
	const N = 400 // 25 MiB: more than the socket buffers hold
	for i := 0; i < N; i++ {
		p.cmdBody("PUB slow", body)
		p.expectResponse("OK")
	}
	waitFor(t, "slow consumer dropped", func() bool {
		_, _, _, clients, _ := channelStat(t, n, "slow", "ch")
		return clients == 0
	})
	d, inflight, _, _, _ := channelStat(t, n, "slow", "ch")
	if d != N || inflight != 0 {
		t.Fatalf("after disconnect depth %d in-flight %d, want %d 0", d, inflight, N)
	}
	// Everyone else is still served.
	p.cmdBody("PUB other", []byte("x"))
	p.expectResponse("OK")
}
