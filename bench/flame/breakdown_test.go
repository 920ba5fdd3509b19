package flame

import (
	"strings"
	"testing"
)

// TestBreakdownFirstMatchWins: each sample lands in exactly one category,
// the first (in the list's order) that any of its functions matches.
func TestBreakdownFirstMatchWins(t *testing.T) {
	p := &Profile{SampleTypes: []string{"samples/count", "cpu/nanoseconds"}, DefaultIndex: 1, Samples: []Sample{
		// a write issued from the engine: the write
		{Stack: []string{"internal/runtime/syscall/linux.Syscall6", "golang.org/x/sys/unix.write", "github.com/nsqfast/nsq/engine.(*Channel).dispatchLocked"}, Values: []int64{1, 10}},
		// the copy inside a log append: the append
		{Stack: []string{"runtime.memmove", "github.com/nsqfast/nsq/queue.(*Log).Append", "github.com/nsqfast/nsq/engine.(*Topic).PublishBatch"}, Values: []int64{1, 20}},
		// engine work
		{Stack: []string{"github.com/nsqfast/nsq/queue.(*SeqIndex).Put", "github.com/nsqfast/nsq/engine.(*Channel).deliverLocked"}, Values: []int64{1, 30}},
		// upstream: an allocation in its channel code, a Go channel send
		{Stack: []string{"runtime.mallocgc", "github.com/nsqio/nsq/nsqd.(*Channel).PutMessage"}, Values: []int64{1, 5}},
		{Stack: []string{"runtime.chansend", "github.com/nsqio/nsq/nsqd.(*Topic).put"}, Values: []int64{1, 7}},
		// upstream's disk queue writing its file: the disk queue
		{Stack: []string{"syscall.write", "os.(*File).Write", "github.com/nsqio/nsq/internal/diskqueue.(*diskQueue).writeOne"}, Values: []int64{1, 4}},
		// nothing known
		{Stack: []string{"main.main"}, Values: []int64{1, 3}},
	}}
	sums, total := Breakdown(p, -1, BrokerCategories)
	if total != 79 {
		t.Fatalf("total %d, want 79", total)
	}
	want := map[string]int64{
		"socket write(2)":                   10,
		"log append: copy + CRC (ours)":     20,
		"topics, channels, in-flight state": 30,
		"allocation and GC":                 5,
		"Go channels and select":            7,
		"disk queue (upstream)":             4,
		"other":                             3,
	}
	var sum int64
	for i, v := range sums {
		name := "other"
		if i < len(BrokerCategories) {
			name = BrokerCategories[i].Name
		}
		if v != want[name] {
			t.Errorf("%s: %d, want %d", name, v, want[name])
		}
		sum += v
	}
	if sum != total {
		t.Errorf("categories add up to %d of %d", sum, total)
	}
	var b strings.Builder
	if err := WriteBreakdown(&b, p, -1, BrokerCategories); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "topics, channels, in-flight state      38.0%       30ns") {
		t.Errorf("table:\n%s", b.String())
	}
}
