package wire

import (
	"bytes"
	"fmt"
	"testing"
)

// Sinks keep the compiler from discarding results in benchmarks and
// allocation tests.
var (
	sinkInt   int
	sinkBool  bool
	sinkBytes []byte
	sinkU64   uint64
	sinkID    MessageID
)

func BenchmarkParsePUB(b *testing.B) {
	for _, size := range []int{16, 200, 4096} {
		b.Run(fmt.Sprintf("body=%d", size), func(b *testing.B) {
			in := AppendPUB(nil, "benchmark_topic", bytes.Repeat([]byte("x"), size))
			lim := DefaultLimits()
			var cmd Command
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if n, err := ParseCommand(in, &lim, &cmd); n != len(in) || err != nil {
					b.Fatal(n, err)
				}
			}
		})
	}
}

func BenchmarkParseMPUB(b *testing.B) {
	for _, tc := range []struct{ msgs, size int }{{10, 200}, {100, 200}, {1000, 16}} {
		b.Run(fmt.Sprintf("msgs=%d/body=%d", tc.msgs, tc.size), func(b *testing.B) {
			bodies := make([][]byte, tc.msgs)
			for i := range bodies {
				bodies[i] = bytes.Repeat([]byte("x"), tc.size)
			}
			in := AppendMPUB(nil, "benchmark_topic", bodies)
			lim := DefaultLimits()
			var cmd Command
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if n, err := ParseCommand(in, &lim, &cmd); n != len(in) || err != nil {
					b.Fatal(n, err)
				}
				total := 0
				it := cmd.Messages()
				for body, ok := it.Next(); ok; body, ok = it.Next() {
					total += len(body)
				}
				if total != tc.msgs*tc.size {
					b.Fatal(total)
				}
			}
		})
	}
	// The worst case for re-parsing: a 5 MiB MPUB of 1-byte messages arriving
	// in 64 KiB reads, ParseCommand called after each read (it re-walks the
	// message headers received so far every time).
	b.Run("arriving_in_64KiB_reads/msgs=1M/body=1", func(b *testing.B) {
		lim := DefaultLimits()
		n := int((lim.MaxBodySize - 4) / 5)
		bodies := make([][]byte, n)
		for i := range bodies {
			bodies[i] = []byte("x")
		}
		in := AppendMPUB(nil, "t", bodies)
		var cmd Command
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			for end := 64 << 10; ; end += 64 << 10 {
				end = min(end, len(in))
				k, err := ParseCommand(in[:end], &lim, &cmd)
				if err != nil {
					b.Fatal(err)
				}
				if k > 0 {
					break
				}
			}
		}
	})
}

// BenchmarkParseMPUBTrickle: a 1 MiB MPUB of 1-byte messages arriving a
// few bytes at a time (a hostile client's small writes), parsed after
// each, from scratch (ParseCommand) and resumed (ParseCommandResume).
func BenchmarkParseMPUBTrickle(b *testing.B) {
	lim := DefaultLimits()
	bodies := make([][]byte, (1<<20)/5)
	for i := range bodies {
		bodies[i] = []byte("x")
	}
	in := AppendMPUB(nil, "t", bodies)
	for _, resume := range []bool{false, true} {
		b.Run(fmt.Sprintf("resume=%v/msgs=%d/read=4KiB", resume, len(bodies)), func(b *testing.B) {
			var cmd Command
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				var r Resume
				for end := 4 << 10; ; end += 4 << 10 {
					end = min(end, len(in))
					var k int
					var err *Error
					if resume {
						k, err = ParseCommandResume(in[:end], &lim, &cmd, &r)
					} else {
						k, err = ParseCommand(in[:end], &lim, &cmd)
					}
					if err != nil {
						b.Fatal(err)
					}
					if k > 0 {
						break
					}
				}
			}
		})
	}
}

func BenchmarkParseFIN(b *testing.B) {
	in := AppendFIN(nil, IDFromUint64(123456789))
	var cmd Command
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n, err := ParseCommand(in, nil, &cmd); n == 0 || err != nil {
			b.Fatal(n, err)
		}
		id, err := ParseFIN(cmd.Params)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := Uint64FromID(id); !ok {
			b.Fatal("bad id")
		}
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	for _, size := range []int{16, 200, 4096} {
		b.Run(fmt.Sprintf("body=%d", size), func(b *testing.B) {
			body := bytes.Repeat([]byte("x"), size)
			id := IDFromUint64(42)
			dst := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			b.SetBytes(int64(FrameHeaderLen + MessageHeaderLen + size))
			for b.Loop() {
				dst = AppendMessage(dst[:0], id, 1700000000000000000, 1, body)
			}
		})
	}
}

func BenchmarkUint64FromID(b *testing.B) {
	id := IDFromUint64(0x0123456789abcdef)
	b.ReportAllocs()
	b.SetBytes(MsgIDLength)
	for b.Loop() {
		if _, ok := Uint64FromID(id[:]); !ok {
			b.Fatal("bad id")
		}
	}
}

func BenchmarkIDFromUint64(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(MsgIDLength)
	var seq uint64
	for b.Loop() {
		sinkID = IDFromUint64(seq)
		seq++
	}
}

func BenchmarkIsValidTopicName(b *testing.B) {
	name := []byte("some.topic-name_01#ephemeral")
	b.ReportAllocs()
	b.SetBytes(int64(len(name)))
	for b.Loop() {
		if !IsValidTopicName(name) {
			b.Fatal("invalid")
		}
	}
}
