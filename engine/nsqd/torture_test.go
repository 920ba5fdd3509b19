package nsqd

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire"
)

// TestTorture runs producers and consumers against a broker that is killed
// with SIGKILL at random moments, cycle after cycle, then checks that
// every acknowledged message was delivered (lost = 0); duplicates, which
// at-least-once allows, are counted and reported. TORTURE_CYCLES sets the
// number of cycles (default 6; `make torture` runs many more).
func TestTorture(t *testing.T) {
	cycles := 6
	if v, err := strconv.Atoi(os.Getenv("TORTURE_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	dir := t.TempDir()
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		seen  = map[string]int{}
	)
	for cycle := 0; cycle < cycles; cycle++ {
		ch := startChild(t, dir)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for p := 0; p < 2; p++ {
			wg.Add(1)
			go func(p int) {
				defer wg.Done()
				tortureProduce(ch.tcp, fmt.Sprintf("c%d-p%d", cycle, p), stop, func(ids []string) {
					mu.Lock()
					for _, id := range ids {
						acked[id] = true
					}
					mu.Unlock()
				})
			}(p)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tortureConsume(ch.tcp, stop, func(id string) {
				mu.Lock()
				seen[id]++
				mu.Unlock()
			})
		}()
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond) // the random moment of the kill
		ch.kill9(t)
		close(stop)
		wg.Wait()
	}
	// A last run drains everything.
	final := startChild(t, dir)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tortureConsume(final.tcp, stop, func(id string) {
			mu.Lock()
			seen[id]++
			mu.Unlock()
		})
	}()
	missing := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for id := range acked {
			if seen[id] == 0 {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for missing() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups += n - 1
		}
	}
	lost := 0
	for id := range acked {
		if seen[id] == 0 {
			lost++
		}
	}
	t.Logf("torture: %d cycles, %d acknowledged, %d delivered, lost %d, duplicates %d", cycles, len(acked), len(seen), lost, dups)
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	if lost != 0 {
		t.Fatalf("lost %d acknowledged messages", lost)
	}
}

// tortureProduce publishes MPUB batches of unique ids until stop or an
// error; ack is called with each batch the broker answered OK to.
func tortureProduce(addr, prefix string, stop chan struct{}, ack func([]string)) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte(wire.MagicV2)); err != nil {
		return
	}
	for n := 0; n < 200; n++ { // at most 10,000 messages per producer and cycle
		select {
		case <-stop:
			return
		default:
		}
		ids := make([]string, 50)
		var body []byte
		body = binary.BigEndian.AppendUint32(body, uint32(len(ids)))
		for i := range ids {
			ids[i] = fmt.Sprintf("%s-%d-%d", prefix, n, i)
			body = binary.BigEndian.AppendUint32(body, uint32(len(ids[i])))
			body = append(body, ids[i]...)
		}
		cmd := []byte("MPUB torture\n")
		cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(body)))
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write(append(cmd, body...)); err != nil {
			return
		}
		for {
			ft, data, err := wire.ReadFrame(r, nil)
			if err != nil {
				return
			}
			if ft == wire.FrameTypeResponse && string(data) == "_heartbeat_" {
				continue
			}
			if ft != wire.FrameTypeResponse || string(data) != "OK" {
				return
			}
			break
		}
		ack(ids)
	}
}

// tortureConsume receives and finishes messages until stop or an error.
func tortureConsume(addr string, stop chan struct{}, got func(string)) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer conn.Close()
	go func() {
		<-stop
		conn.Close()
	}()
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte(wire.MagicV2 + "SUB torture ch\nRDY 500\n")); err != nil {
		return
	}
	w := bufio.NewWriter(conn)
	for {
		ft, data, err := wire.ReadFrame(r, nil)
		if err != nil {
			return
		}
		if ft != wire.FrameTypeMessage {
			if string(data) == "_heartbeat_" {
				_, _ = w.WriteString("NOP\n")
				_ = w.Flush()
			}
			continue
		}
		m, ok := wire.ParseMessage(data)
		if !ok {
			return
		}
		got(string(m.Body))
		_, _ = w.WriteString("FIN " + string(m.ID[:]) + "\n")
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}
