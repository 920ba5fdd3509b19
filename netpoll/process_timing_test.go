package netpoll

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/nsqfast/nsq/engine"
)

// BenchmarkProcessMPUB measures the protocol state machine on MPUBs to an
// ephemeral topic (no disk), without a socket: parse, checks, append,
// answer.
func BenchmarkProcessMPUB(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("%dmsgs", n), func(b *testing.B) {
			eng, err := engine.New(engine.Options{DataPath: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			s := New(Options{}, eng)
			c := &Client{srv: s, gotMagic: true}
			body := make([]byte, 100)
			cmd := []byte("MPUB bench#ephemeral\n")
			cmd = binary.BigEndian.AppendUint32(cmd, uint32(4+n*(4+len(body))))
			cmd = binary.BigEndian.AppendUint32(cmd, uint32(n))
			for i := 0; i < n; i++ {
				cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(body)))
				cmd = append(cmd, body...)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(cmd)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				used, act := c.process(cmd)
				if used != len(cmd) || act != actNone {
					b.Fatalf("process: %d of %d bytes, action %d", used, len(cmd), act)
				}
				if bb := c.takeOut(); bb != nil {
					outPool.Put(bb)
				}
				c.notifyTopics()
			}
		})
	}
}
