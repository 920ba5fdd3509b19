package netpoll

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"testing"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// BenchmarkPubLarge publishes one large message per round trip through a
// real server (gnet, 127.0.0.1) to an ephemeral topic: what reading a
// command that spans many socket reads costs. Allocations count the whole
// process, the server's included.
func BenchmarkPubLarge(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s, _ := runServer(b, engine.Options{MemQueueSize: 1}, Options{})
			conn, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			cmd := []byte(wire.MagicV2 + "PUB big#ephemeral\n")
			cmd = binary.BigEndian.AppendUint32(cmd, uint32(size))
			cmd = append(cmd, make([]byte, size)...)
			r := bufio.NewReader(conn)
			var fb []byte
			roundTrip := func(c []byte) {
				if _, err := conn.Write(c); err != nil {
					b.Fatal(err)
				}
				ft, data, err := wire.ReadFrame(r, fb)
				if err != nil || ft != wire.FrameTypeResponse || string(data) != "OK" {
					b.Fatalf("answer %d %q %v", ft, data, err)
				}
				fb = data[:0]
			}
			roundTrip(cmd) // with the magic
			cmd = cmd[len(wire.MagicV2):]
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				roundTrip(cmd)
			}
		})
	}
}
