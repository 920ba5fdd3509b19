package netpoll

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqfast/nsq/engine"
)

// BenchmarkFanoutOnePerPublish measures the delivery and write path with
// real sockets: one op publishes one 200-byte message (Put, then Notify,
// as a PUB's read does) to a topic with N channels, one consumer each (a
// raw TCP client with RDY 2500 that FINs every message it reads, in one
// write per read); the op's messages count once all N consumers have read
// them. msgs/s is messages delivered a second; syscalls/msg the read and
// write system calls of the whole process (nsqd's and the clients') per
// delivered message, from /proc/self/io.
func BenchmarkFanoutOnePerPublish(b *testing.B) {
	for _, channels := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("%dch", channels), func(b *testing.B) {
			benchFanout(b, channels)
		})
	}
}

func benchFanout(b *testing.B, channels int) {
	s, eng := runServer(b, engine.Options{}, Options{})
	t, err := eng.GetTopic("bench")
	if err != nil {
		b.Fatal(err)
	}
	var target atomic.Int64
	target.Store(1 << 62)
	var wg sync.WaitGroup
	conns := make([]net.Conn, channels)
	for i := range conns {
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = nc
		fmt.Fprintf(nc, "  V2SUB bench ch%d\nRDY 2500\n", i)
		ok := make([]byte, 10) // size, type, "OK"
		if _, err := nc.Read(ok); err != nil || !bytes.HasSuffix(ok, []byte("OK")) {
			b.Fatalf("SUB: %q %v", ok, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			benchConsume(nc, &target)
		}()
	}
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
		wg.Wait()
	}()
	body := make([]byte, 200)
	r0, w0 := procIO()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	target.Store(int64(b.N))
	for i := 0; i < b.N; i++ {
		if _, err := t.Put(body, 0); err != nil {
			b.Fatal(err)
		}
		t.Notify()
	}
	doneCount.Wait(b, channels)
	el := time.Since(start)
	b.StopTimer()
	r1, w1 := procIO()
	msgs := float64(b.N) * float64(channels)
	b.ReportMetric(msgs/el.Seconds(), "msgs/s")
	if r1 > 0 {
		b.ReportMetric(float64(r1-r0+w1-w0)/msgs, "syscalls/msg")
	}
}

// doneCount counts consumers that have read their target.
var doneCount = &consumersDone{}

type consumersDone struct {
	mu sync.Mutex
	n  int
	c  *sync.Cond
}

func (d *consumersDone) add() {
	d.mu.Lock()
	d.n++
	if d.c != nil {
		d.c.Broadcast()
	}
	d.mu.Unlock()
}

// Wait waits until want consumers are done, then resets the count.
func (d *consumersDone) Wait(b *testing.B, want int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		d.c = sync.NewCond(&d.mu)
	}
	deadline := time.AfterFunc(time.Minute, func() { d.mu.Lock(); d.n = -1 << 30; d.c.Broadcast(); d.mu.Unlock() })
	defer deadline.Stop()
	for d.n < want && d.n >= 0 {
		d.c.Wait()
	}
	if d.n < 0 {
		b.Fatalf("consumers did not get their messages in a minute")
	}
	d.n = 0
}

// benchConsume reads frames, FINs each message (one write per read), and
// reports once it has read target messages. It allocates nothing.
func benchConsume(nc net.Conn, target *atomic.Int64) {
	buf := make([]byte, 256<<10)
	fins := make([]byte, 0, 64<<10)
	have, got := 0, int64(0)
	for {
		n, err := nc.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
		off := 0
		for have-off >= 8 {
			size := int(binary.BigEndian.Uint32(buf[off:]))
			if have-off < 4+size {
				break
			}
			if binary.BigEndian.Uint32(buf[off+4:]) == 2 { // message: ts 8, attempts 2, id 16
				fins = append(fins, "FIN "...)
				fins = append(fins, buf[off+8+10:off+8+26]...)
				fins = append(fins, '\n')
				got++
				if got == target.Load() {
					doneCount.add()
					got = 0
				}
			}
			off += 4 + size
		}
		have = copy(buf, buf[off:have])
		if len(fins) > 0 {
			if _, err := nc.Write(fins); err != nil {
				return
			}
			fins = fins[:0]
		}
	}
}

// procIO returns this process's read and write system calls so far (0, 0
// where /proc is missing).
func procIO() (r, w int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var v int64
		if _, err := fmt.Sscanf(string(line), "syscr: %d", &v); err == nil {
			r = v
		}
		if _, err := fmt.Sscanf(string(line), "syscw: %d", &v); err == nil {
			w = v
		}
	}
	return r, w
}
