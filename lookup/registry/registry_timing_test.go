package registry

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkLookup is what GET /lookup?topic= does (every consumer polls
// it): the topic's registration, its channels and its active producers.
// The indexes keep it proportional to the topic's own channels and
// producers, whatever the size of the database.
func BenchmarkLookup(b *testing.B) {
	for _, topics := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("topics=%d", topics), func(b *testing.B) {
			db := New()
			var peers []*Peer
			for i := range 20 {
				peers = append(peers, peer(fmt.Sprintf("10.0.0.%d:1", i), fmt.Sprintf("nsqd-%02d", i), 4150, 4151))
			}
			for i := range topics {
				name := fmt.Sprintf("topic-%d", i)
				for j, p := range peers {
					if (i+j)%4 == 0 {
						db.AddProducer(topic(name), p)
						for c := range 3 {
							db.AddProducer(channel(name, fmt.Sprintf("ch-%d", c)), p)
						}
					}
				}
			}
			now := t0.Add(time.Second)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprintf("topic-%d", i%topics)
				if len(db.FindRegistrations(CategoryTopic, name, "")) != 1 {
					b.Fatal("missing topic")
				}
				_ = db.FindRegistrations(CategoryChannel, name, Wildcard)
				if len(Active(db.FindProducers(CategoryTopic, name, ""), now, time.Minute, time.Minute)) != 5 {
					b.Fatal("producers")
				}
			}
		})
	}
}
