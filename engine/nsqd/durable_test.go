package nsqd

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	gonsq "github.com/nsqio/go-nsq"
)

// TestSyncEveryOne: with --sync-every=1 every OK waits for a sync, and the
// answers of pipelined commands still come in order: three publishes to two
// topics written in one go get three OKs, then the (fatal) error of the
// command after them; so do 21 publishes to one topic (which share syncs)
// and an invalid one behind them; concurrent producers, one of them on a deflate
// stream (the goroutine path), and HTTP /pub and /mpub all get their
// answers, and every message is in its topic.
func TestSyncEveryOne(t *testing.T) {
	n := startNSQD(t, func(o *Options) {
		o.SyncEvery = 1
		o.DeflateEnabled = true
	})
	rc := dialRaw(t, n)
	var b []byte
	pub := func(line string, body []byte) {
		b = append(b, line+"\n"...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
		b = append(b, body...)
	}
	pub("PUB durable_a", []byte("one"))
	mpub := binary.BigEndian.AppendUint32(nil, 2)
	for _, m := range []string{"two", "three"} {
		mpub = binary.BigEndian.AppendUint32(mpub, uint32(len(m)))
		mpub = append(mpub, m...)
	}
	pub("MPUB durable_b", mpub)
	pub("DPUB durable_a 1000", []byte("four"))
	b = append(b, "RDY 1\n"...)
	rc.write(b)
	for i := 0; i < 3; i++ {
		rc.expectResponse("OK")
	}
	rc.expectError("E_INVALID cannot RDY in current state")
	rc.expectClosed()

	// A pipeline of publishes to one topic runs behind the first one's
	// wait and shares its sync; an error behind them comes after their OKs.
	rc = dialRaw(t, n)
	b = b[:0]
	for i := 0; i < 20; i++ {
		pub("PUB durable_d", []byte(fmt.Sprint(i)))
	}
	pub("MPUB durable_d", mpub)
	pub("PUB durable_d", nil)
	rc.write(b)
	for i := 0; i < 21; i++ {
		rc.expectResponse("OK")
	}
	rc.expectError("E_BAD_MESSAGE PUB invalid message body size 0")
	rc.expectClosed()

	var wg sync.WaitGroup
	const producers, each = 8, 50
	for i := 0; i < producers; i++ {
		cfg := gonsq.NewConfig()
		if i == 0 {
			cfg.Deflate, cfg.DeflateLevel = true, 1
		}
		p, err := gonsq.NewProducer(n.TCPAddr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		p.SetLogger(quietLogger())
		t.Cleanup(p.Stop)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if err := p.Publish("durable_c", []byte(fmt.Sprint(i, "-", j))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if code, body := httpPost(t, n, "/pub?topic=durable_c", "http"); code != 200 || body != "OK" {
		t.Fatalf("/pub: %d %s", code, body)
	}
	if code, body := httpPost(t, n, "/mpub?topic=durable_c", "x\ny"); code != 200 || body != "OK" {
		t.Fatalf("/mpub: %d %s", code, body)
	}
	want := map[string]uint64{"durable_a": 2, "durable_b": 2, "durable_c": producers*each + 3, "durable_d": 22}
	for _, tp := range getStats(t, n).Topics {
		if w, ok := want[tp.TopicName]; ok && tp.MessageCount != w {
			t.Errorf("%s: %d messages, want %d", tp.TopicName, tp.MessageCount, w)
		}
		delete(want, tp.TopicName)
	}
	if len(want) > 0 {
		t.Errorf("topics missing: %v", want)
	}
}
