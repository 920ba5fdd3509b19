package flame

import (
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Category is a kind of work a broker does, recognised by a function in a
// sample's stack.
type Category struct {
	Name string
	// Match is tried against every function of a stack.
	Match *regexp.Regexp
}

// BrokerCategories sort a broker's CPU or wall-clock samples into the
// costs that explain its throughput, for our nsqd and upstream's alike. A
// sample belongs to the first category any of its functions matches, so
// a write(2) issued from the engine counts as a write, one from upstream's
// disk queue as the disk queue, and the copy inside a log append as the
// append; the shares add up to 100%.
var BrokerCategories = []Category{
	{"disk queue (upstream)", regexp.MustCompile(`nsq/internal/diskqueue\.|go-diskqueue\.`)},
	{"fsync/msync (durability)", regexp.MustCompile(`unix\.Msync$|Fdatasync$|^syscall\.Fsync$|\(\*File\)\.Sync$`)},
	{"page prefault (ours, background)", regexp.MustCompile(`/queue\.populateWrite$`)},
	{"log append: copy + CRC (ours)", regexp.MustCompile(`/queue\.\(\*Log\)\.Append$`)},
	{"socket write(2)", regexp.MustCompile(`^(golang\.org/x/sys/unix|syscall)\.(write|writev|Write|Writev)$`)},
	{"socket read(2)", regexp.MustCompile(`^(golang\.org/x/sys/unix|syscall)\.(read|Read)$`)},
	{"epoll_wait", regexp.MustCompile(`EpollWait$|^runtime\.netpoll$`)},
	{"allocation and GC", regexp.MustCompile(`^runtime\.(mallocgc|gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge)$`)},
	{"Go channels and select", regexp.MustCompile(`^runtime\.(chansend|chanrecv|selectgo)$`)},
	{"protocol: parse and frames", regexp.MustCompile(`/nsq/wire\.|netpoll\.\(\*Client\)\.SendMessage$|nsq/internal/protocol\.|nsqd\.\(\*Message\)\.WriteTo$|nsqd\.readMPUB$|nsqd\.\(\*protocolV2\)\.Send$`)},
	{"topics, channels, in-flight state", regexp.MustCompile(`/nsq/engine\.|nsq/nsqd\.\(\*(Topic|Channel)\)|nsq/nsqd\.\(\*?inFlightPqueue\)|nsq/nsqd\.\(\*protocolV2\)\.(messagePump|PUB|MPUB|FIN|REQ|RDY|SUB)$`)},
	{"scheduler and lock waits", regexp.MustCompile(`^runtime\.(schedule|findRunnable|park_m|futex|mcall|gopark|goschedImpl)$|^internal/sync\.\(\*Mutex\)\.lockSlow$`)},
}

// Breakdown sums sample value index of p per category (the last entry of
// the result: what no category matched) and returns the sums and the
// total.
func Breakdown(p *Profile, index int, cats []Category) (sums []int64, total int64) {
	sums = make([]int64, len(cats)+1)
	if index < 0 {
		index = p.DefaultIndex
	}
	seen := map[string]int{} // function -> category+1, or -1 for none
	for _, s := range p.Samples {
		if index >= len(s.Values) {
			continue
		}
		v := s.Values[index]
		total += v
		best := len(cats)
		for _, fn := range s.Stack {
			c, ok := seen[fn]
			if !ok {
				c = -1
				for i, cat := range cats {
					if cat.Match.MatchString(fn) {
						c = i + 1
						break
					}
				}
				seen[fn] = c
			}
			if c > 0 && c-1 < best {
				best = c - 1
			}
		}
		sums[best] += v
	}
	return sums, total
}

// WriteBreakdown prints Breakdown as a table: category, share, value.
func WriteBreakdown(w io.Writer, p *Profile, index int, cats []Category) error {
	if index < 0 {
		index = p.DefaultIndex
	}
	sums, total := Breakdown(p, index, cats)
	unit := ""
	if index < len(p.SampleTypes) {
		unit = p.SampleTypes[index]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s %7s %10s\n", "category", "share", "value")
	for i, v := range sums {
		name := "other"
		if i < len(cats) {
			name = cats[i].Name
		}
		share := 0.0
		if total > 0 {
			share = 100 * float64(v) / float64(total)
		}
		fmt.Fprintf(&b, "%-36s %6.1f%% %10s\n", name, share, format(v, unit))
	}
	fmt.Fprintf(&b, "%-36s %7s %10s\n", "total", "100%", format(total, unit))
	_, err := io.WriteString(w, b.String())
	return err
}
