package migrate

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkImport imports a topic whose backlog, and that of one of its two
// channels, hold n messages of 100 bytes each; the other channel's n/10
// become pending entries.
func BenchmarkImport(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("msgs=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			body := make([]byte, 100)
			gen := func(k int) []UpstreamMessage {
				out := make([]UpstreamMessage, k)
				for i := range out {
					out[i] = UpstreamMessage{Timestamp: int64(i), Body: body}
				}
				return out
			}
			md := UpstreamMetadata{Topics: []UpstreamTopic{{Name: "t", Channels: []UpstreamChannel{{Name: "a"}, {Name: "b"}}}}}
			queues := map[string]UpstreamQueue{"t": {Backlog: gen(n)}, "t:a": {Backlog: gen(n)}, "t:b": {Backlog: gen(n / 10)}}
			if err := WriteUpstream(dir, md, 100<<20, queues); err != nil {
				b.Fatal(err)
			}
			recBytes := int64(4 + msgHeaderLen + len(body))
			b.SetBytes(recBytes * int64(n+n+n/10))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rep, err := Import(dir, 0, nil)
				if err != nil || rep.Messages != int64(n+n+n/10) {
					b.Fatalf("Import = %+v, %v", rep, err)
				}
				b.StopTimer()
				if err := os.RemoveAll(filepath.Join(dir, topicsDir)); err != nil {
					b.Fatal(err)
				}
				if err := os.Rename(filepath.Join(dir, importedFile), filepath.Join(dir, metadataFile)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
