package nsqd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/wire"
)

// startNSQD starts a whole nsqd in-process on 127.0.0.1 ports from :0 with
// a fresh data path; it is stopped when the test ends.
func startNSQD(t testing.TB, mutate func(o *Options)) *NSQD {
	t.Helper()
	o := NewOptions()
	o.TCPAddress = "127.0.0.1:0"
	o.HTTPAddress = "127.0.0.1:0"
	o.DataPath = t.TempDir()
	o.LogOutput = io.Discard
	if mutate != nil {
		mutate(o)
	}
	n, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := n.Main(); err != nil {
		n.Exit()
		t.Fatalf("Main: %v", err)
	}
	t.Cleanup(n.Exit)
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func quietLogger() (l gonsqLogger, lvl gonsq.LogLevel) { return gonsqLogger{}, gonsq.LogLevelError }

type gonsqLogger struct{}

func (gonsqLogger) Output(int, string) error { return nil }

func newProducer(t testing.TB, n *NSQD) *gonsq.Producer {
	t.Helper()
	p, err := gonsq.NewProducer(n.TCPAddr().String(), gonsq.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quietLogger())
	t.Cleanup(p.Stop)
	return p
}

func newConsumer(t testing.TB, n *NSQD, topic, channel string, cfg *gonsq.Config, h gonsq.Handler) *gonsq.Consumer {
	t.Helper()
	if cfg == nil {
		cfg = gonsq.NewConfig()
	}
	c, err := gonsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(quietLogger())
	c.AddHandler(h)
	before := subscribers(n, topic, channel)
	if err := c.ConnectToNSQD(n.TCPAddr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		<-c.StopChan
	})
	// go-nsq returns once it has sent SUB, not once nsqd has done it; a
	// message published before then is not this channel's (or goes to
	// another consumer of it), so wait for nsqd to count the client.
	waitFor(t, "the consumer's SUB", func() bool { return subscribers(n, topic, channel) > before })
	return c
}

// subscribers counts the clients subscribed to topic/channel, asking the
// engine (so that it works when HTTP is TLS-only).
func subscribers(n *NSQD, topic, channel string) int {
	for _, tp := range n.Engine().Topics() {
		if tp.Name() != topic {
			continue
		}
		for _, ch := range tp.Channels() {
			if ch.Name() == channel {
				return ch.Stats(false).ClientCount
			}
		}
	}
	return 0
}

// rawConn is a raw V2 protocol client for exact-frame tests.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
}

// dialRaw connects and sends the V2 magic.
func dialRaw(t testing.TB, n *NSQD) *rawConn {
	t.Helper()
	rc := dialPlain(t, n)
	rc.write([]byte(wire.MagicV2))
	return rc
}

// dialPlain connects and sends nothing.
func dialPlain(t testing.TB, n *NSQD) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", n.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawConn) cmd(line string) { c.write([]byte(line + "\n")) }

func (c *rawConn) cmdBody(line string, body []byte) {
	b := []byte(line + "\n")
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	c.write(append(b, body...))
}

func (c *rawConn) identify(v map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	c.cmdBody("IDENTIFY", b)
	ft, data := c.readFrame()
	if ft != wire.FrameTypeResponse {
		c.t.Fatalf("IDENTIFY: frame %d %q", ft, data)
	}
}

// readFrame returns the next frame that is not a heartbeat.
func (c *rawConn) readFrame() (int32, []byte) {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		ft, data, err := wire.ReadFrame(c.r, c.buf)
		if err != nil {
			c.t.Fatalf("read frame: %v", err)
		}
		if ft == wire.FrameTypeResponse && string(data) == "_heartbeat_" {
			continue
		}
		return ft, append([]byte(nil), data...)
	}
}

func (c *rawConn) expectResponse(want string) {
	c.t.Helper()
	ft, data := c.readFrame()
	if ft != wire.FrameTypeResponse || string(data) != want {
		c.t.Fatalf("got frame %d %q, want response %q", ft, data, want)
	}
}

func (c *rawConn) expectError(want string) {
	c.t.Helper()
	ft, data := c.readFrame()
	if ft != wire.FrameTypeError || string(data) != want {
		c.t.Fatalf("got frame %d %q, want error %q", ft, data, want)
	}
}

func (c *rawConn) readMessage() wire.Message {
	c.t.Helper()
	ft, data := c.readFrame()
	if ft != wire.FrameTypeMessage {
		c.t.Fatalf("got frame %d %q, want a message", ft, data)
	}
	m, ok := wire.ParseMessage(data)
	if !ok {
		c.t.Fatalf("bad message frame %q", data)
	}
	return m
}

// expectClosed asserts the server closes the connection (EOF) without
// sending anything more.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := c.r.ReadByte()
	if err == nil {
		c.t.Fatalf("connection still open: got byte %q", b)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatalf("connection not closed")
	}
}

func (c *rawConn) subscribe(topic, channel string, rdy int) {
	c.t.Helper()
	c.cmd("SUB " + topic + " " + channel)
	c.expectResponse("OK")
	if rdy > 0 {
		c.cmd(fmt.Sprintf("RDY %d", rdy))
	}
}

func httpURL(n *NSQD, path string) string { return "http://" + n.HTTPAddr().String() + path }

func httpPost(t testing.TB, n *NSQD, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(httpURL(n, path), "application/octet-stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type statsDoc struct {
	Topics []struct {
		TopicName    string `json:"topic_name"`
		Depth        int64  `json:"depth"`
		MessageCount uint64 `json:"message_count"`
		Paused       bool   `json:"paused"`
		Channels     []struct {
			ChannelName   string `json:"channel_name"`
			Depth         int64  `json:"depth"`
			InFlightCount int    `json:"in_flight_count"`
			DeferredCount int    `json:"deferred_count"`
			MessageCount  uint64 `json:"message_count"`
			RequeueCount  uint64 `json:"requeue_count"`
			TimeoutCount  uint64 `json:"timeout_count"`
			ClientCount   int    `json:"client_count"`
			Paused        bool   `json:"paused"`
		} `json:"channels"`
	} `json:"topics"`
}

func getStats(t testing.TB, n *NSQD) statsDoc {
	t.Helper()
	req, _ := http.NewRequest("GET", httpURL(n, "/stats?format=json"), nil)
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d statsDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// channelStat finds a channel in /stats; ok is false if absent.
func channelStat(t testing.TB, n *NSQD, topic, channel string) (depth int64, inflight, deferred int, clients int, ok bool) {
	for _, tp := range getStats(t, n).Topics {
		if tp.TopicName != topic {
			continue
		}
		for _, ch := range tp.Channels {
			if ch.ChannelName == channel {
				return ch.Depth, ch.InFlightCount, ch.DeferredCount, ch.ClientCount, true
			}
		}
	}
	return 0, 0, 0, 0, false
}

func topicExists(t testing.TB, n *NSQD, topic string) bool {
	for _, tp := range getStats(t, n).Topics {
		if tp.TopicName == topic {
			return true
		}
	}
	return false
}
