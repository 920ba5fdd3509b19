// Package statsd writes metrics in the statsd line protocol
// ("<prefix><name>:<value>|<type>\n") packed into UDP-sized packets, and
// sends them spread over an interval, as NSQ v1.3.0's nsqd and nsqadmin
// do. It is independent of the rest of nsqd so that nsqadmin can use it.
package statsd

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// Buffer accumulates lines into packets of at most a given size; a line is
// never split, and a line longer than a packet gets one of its own. Not
// safe for concurrent use. The zero value is not usable: call New.
type Buffer struct {
	prefix  string
	size    int
	line    []byte
	packets [][]byte
	cur     []byte // the packet being filled
}

// New returns a Buffer whose metric names start with prefix and whose
// packets hold at most packetSize bytes (at least one line each).
func New(prefix string, packetSize int) *Buffer {
	return &Buffer{prefix: prefix, size: max(packetSize, 1)}
}

// Count adds a counter increment ("|c").
func (b *Buffer) Count(stat string, n int64) { b.add(stat, n, "|c\n") }

// Gauge sets a gauge ("|g").
func (b *Buffer) Gauge(stat string, v int64) { b.add(stat, v, "|g\n") }

// Timing adds a timing in milliseconds ("|ms").
func (b *Buffer) Timing(stat string, ms int64) { b.add(stat, ms, "|ms\n") }

func (b *Buffer) add(stat string, v int64, suffix string) {
	l := append(b.line[:0], b.prefix...)
	l = append(l, stat...)
	l = append(l, ':')
	l = strconv.AppendInt(l, v, 10)
	l = append(l, suffix...)
	b.line = l
	if len(b.cur) > 0 && len(b.cur)+len(l) > b.size {
		b.packets = append(b.packets, b.cur)
		b.cur = nil
	}
	if b.cur == nil {
		b.cur = make([]byte, 0, max(b.size, len(l)))
	}
	b.cur = append(b.cur, l...)
}

// Packets ends the packet being filled and returns every packet so far.
func (b *Buffer) Packets() [][]byte {
	if len(b.cur) > 0 {
		b.packets = append(b.packets, b.cur)
		b.cur = nil
	}
	return b.packets
}

// HostKey turns host:port into a key segment: dots and colons become
// underscores ("10.0.0.1:4151" -> "10_0_0_1_4151").
func HostKey(hostport string) string {
	return strings.NewReplacer(".", "_", ":", "_").Replace(hostport)
}

// Prefix is the prefix upstream derives from --statsd-prefix: every "%s"
// replaced by HostKey(hostport), and a trailing "." added when missing. An
// empty template gives no prefix.
func Prefix(template, hostport string) string {
	if template == "" {
		return ""
	}
	p := strings.ReplaceAll(template, "%s", HostKey(hostport))
	if !strings.HasSuffix(p, ".") {
		p += "."
	}
	return p
}

// Send writes each packet to w (one Write per packet, so one datagram on a
// UDP connection), spreading them evenly over spread so that a statsd
// daemon is not hit by a burst; closing stop skips the remaining waits but
// still sends everything. Write errors (such as "connection refused" from
// an absent daemon) do not stop it; the first is returned.
func Send(w io.Writer, packets [][]byte, spread time.Duration, stop <-chan struct{}) error {
	var first error
	var tick *time.Ticker
	if n := len(packets); n > 1 && spread > 0 {
		tick = time.NewTicker(max(spread/time.Duration(n), time.Microsecond))
		defer tick.Stop()
	}
	for i, p := range packets {
		if _, err := w.Write(p); err != nil && first == nil {
			first = err
		}
		if tick != nil && i < len(packets)-1 {
			select {
			case <-tick.C:
			case <-stop:
				tick.Stop()
				tick = nil
			}
		}
	}
	return first
}
