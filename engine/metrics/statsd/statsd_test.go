package statsd

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLinesAndPackets(t *testing.T) {
	b := New("nsq.host_4151.", 64)
	b.Count("topic.t.message_count", 5)
	b.Gauge("topic.t.depth", -2)
	b.Timing("x", 7)
	b.Gauge(strings.Repeat("long", 20), 1) // longer than a packet: alone
	b.Count("after", 1)
	got := b.Packets()
	want := []string{
		"nsq.host_4151.topic.t.message_count:5|c\n",
		"nsq.host_4151.topic.t.depth:-2|g\nnsq.host_4151.x:7|ms\n",
		"nsq.host_4151." + strings.Repeat("long", 20) + ":1|g\n",
		"nsq.host_4151.after:1|c\n",
	}
	if len(got) != len(want) {
		t.Fatalf("%d packets: %q", len(got), got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("packet %d = %q, want %q", i, got[i], want[i])
		}
	}
	if len(b.Packets()) != len(want) {
		t.Fatal("Packets is not idempotent")
	}
}

func TestPrefix(t *testing.T) {
	for _, c := range []struct{ tmpl, host, want string }{
		{"nsq.%s", "host.example:4151", "nsq.host_example_4151."},
		{"a.%s.b.", "[::1]:1", "a.[__1]_1.b."},
		{"plain", "h:1", "plain."},
		{"", "h:1", ""},
	} {
		if got := Prefix(c.tmpl, c.host); got != c.want {
			t.Errorf("Prefix(%q, %q) = %q, want %q", c.tmpl, c.host, got, c.want)
		}
	}
}

type recorder struct {
	at  []time.Time
	err error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.at = append(r.at, time.Now())
	return len(p), r.err
}

func TestSendSpreadsAndStops(t *testing.T) {
	pk := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	r := &recorder{}
	start := time.Now()
	if err := Send(r, pk, 80*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if len(r.at) != 4 || r.at[3].Sub(start) < 60*time.Millisecond {
		t.Fatalf("not spread: %d writes, last after %v", len(r.at), r.at[len(r.at)-1].Sub(start))
	}

	stop := make(chan struct{})
	close(stop)
	r = &recorder{err: errors.New("refused")}
	start = time.Now()
	if err := Send(r, pk, time.Hour, stop); err == nil || len(r.at) != 4 || time.Since(start) > time.Second {
		t.Fatalf("stopped send: err %v, %d writes in %v", err, len(r.at), time.Since(start))
	}
}
