// Command storagecheck measures what topics, channels and backlogs cost an
// nsqd (ours or upstream's, side by side): resident memory (VmRSS/VmHWM),
// open files and bytes on disk, and checks that every message is still
// delivered after a kill -9. It drives the brokers over HTTP and TCP only,
// so it works against any nsqd binary. docs/BENCHMARKS.md quotes its
// figures; the shapes are:
//
//	storagecheck topics   -topics=10000 [-channels=0]   one 1-byte message per topic (HTTP /pub)
//	storagecheck channels -topics=1000 -channels=10     channels created over HTTP, one message per topic
//
// Each run starts the given nsqd binaries (-nsqd, -ref) on a fresh data
// path under -dir, one after the other, and stops them by PID.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gonsq "github.com/nsqio/go-nsq"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: storagecheck topics|channels [flags]")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	ours := fs.String("nsqd", "bin/nsqd", "our nsqd binary")
	ref := fs.String("ref", "", "upstream's nsqd binary, measured after ours (empty: ours only)")
	topics := fs.Int("topics", 2000, "topics")
	channels := fs.Int("channels", 0, "channels per topic (created over HTTP before the publish)")
	dir := fs.String("dir", "", "where the data paths go (default: a temporary directory, removed)")
	kill := fs.Bool("kill9", true, "kill -9 ours after the publish, restart it and consume everything")
	extra := fs.String("args", "", "extra flags for both brokers, space separated")
	settle := fs.Duration("settle", 8*time.Second, "wait after the publish before measuring (ours releases idle topics' pages at its second --sync-timeout step)")
	writer := fs.String("writer", "/work/upstream/bin/bench_writer", "backlog: upstream's bench_writer")
	reader := fs.String("reader", "/work/upstream/bin/bench_reader", "backlog: upstream's bench_reader")
	runfor := fs.Duration("runfor", 10*time.Second, "backlog: how long bench_writer publishes")
	refExtra := fs.String("refargs", "--mem-queue-size=0", "extra flags for upstream's nsqd only")
	cgLimit := fs.Int64("cgroup-limit", 0, "backlog: run ours in a memory cgroup limited to this many MiB (0: none)")
	rounds := fs.Int("rounds", 1, "backlog: alternating rounds of ours and upstream")
	_ = fs.Parse(os.Args[2:])
	if mode == "backlog" {
		if *dir == "" {
			d, err := os.MkdirTemp("", "storagecheck")
			if err != nil {
				log.Fatal(err)
			}
			defer os.RemoveAll(d)
			*dir = d
		}
		for r := 0; r < *rounds; r++ {
			backlog("ours", *ours, *dir, strings.Fields(*extra), *writer, *reader, *runfor, *cgLimit)
			if *ref != "" {
				backlog("upstream", *ref, *dir, append(strings.Fields(*extra), strings.Fields(*refExtra)...), *writer, *reader, *runfor, 0)
			}
		}
		return
	}
	if mode == "channels" && *channels == 0 {
		*channels = 10
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "storagecheck")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	fmt.Printf("shape: %d topics x %d channels, one 1-byte message per topic over HTTP /pub; flags %q\n", *topics, *channels, *extra)
	run := func(name, bin string, isOurs bool) {
		data := filepath.Join(*dir, name)
		_ = os.RemoveAll(data)
		if err := os.MkdirAll(data, 0o755); err != nil {
			log.Fatal(err)
		}
		b := start(bin, data, strings.Fields(*extra))
		base := b.mem()
		create(b, *topics, *channels)
		publish(b, *topics)
		time.Sleep(*settle)
		m := b.mem()
		fmt.Printf("%-8s rss %7.1f MiB (+%6.1f MiB over idle %5.1f; anon %6.1f, file %6.1f)  hwm %7.1f MiB  fds %5d  disk %8.1f MiB\n",
			name, mib(m.rss), mib(m.rss-base.rss), mib(base.rss), mib(m.anon), mib(m.file), mib(m.hwm), m.fds, mib(du(data)))
		if isOurs && *kill {
			b.kill9()
			t0 := time.Now()
			b = start(bin, data, strings.Fields(*extra))
			fmt.Printf("%-8s restart after kill -9: %.1f s to answer /ping\n", name, time.Since(t0).Seconds())
			got := consume(b, *topics, max(*channels, 1))
			fmt.Printf("%-8s after kill -9 and restart: %d of %d messages delivered\n", name, got, *topics*max(*channels, 1))
		}
		b.stop()
	}
	run("ours", *ours, true)
	if *ref != "" {
		run("upstream", *ref, false)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

type broker struct {
	cmd       *exec.Cmd
	tcp, http string
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func start(bin, data string, extra []string) *broker { return startIn("", bin, data, extra) }

// startIn starts bin; with cgroup (a v1 memory cgroup directory) the
// process joins it before it execs nsqd.
func startIn(cgroup, bin, data string, extra []string) *broker {
	b := &broker{tcp: freePort(), http: freePort()}
	args := append([]string{"--data-path=" + data, "--tcp-address=" + b.tcp, "--http-address=" + b.http, "--log-level=error"}, extra...)
	b.cmd = exec.Command(bin, args...)
	if cgroup != "" {
		b.cmd = exec.Command("sh", append([]string{"-c", `echo $$ > "$0"/cgroup.procs && exec "$@"`, cgroup, bin}, args...)...)
	}
	b.cmd.Stdout, b.cmd.Stderr = os.Stderr, os.Stderr
	if err := b.cmd.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + b.http + "/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return b
			}
		}
		if i > 6000 { // 120s: a restart after kill -9 scans every topic's active segment
			b.stop()
			log.Fatalf("%s did not start", bin)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *broker) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	_ = b.cmd.Wait()
}

func (b *broker) kill9() {
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	_ = b.cmd.Wait()
}

type memInfo struct {
	rss, hwm, anon, file int64
	fds                  int
}

func (b *broker) mem() memInfo {
	pid := b.cmd.Process.Pid
	var m memInfo
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 2 {
				continue
			}
			v, _ := strconv.ParseInt(fs[1], 10, 64)
			switch fs[0] {
			case "VmRSS:":
				m.rss = v << 10
			case "VmHWM:":
				m.hwm = v << 10
			case "RssAnon:":
				m.anon = v << 10
			case "RssFile:":
				m.file = v << 10
			}
		}
		f.Close()
	}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	m.fds = len(ents)
	return m
}

// du is what `du -sk` says: allocated blocks, directories included.
func du(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

func post(url string, body []byte) {
	for try := 0; ; try++ {
		resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(body))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if try > 5 {
			log.Fatalf("POST %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// parallel runs f(i) for i in [0, n) on 8 goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func topicName(i int) string { return fmt.Sprintf("t%05d", i) }

func create(b *broker, topics, channels int) {
	if channels == 0 {
		return
	}
	parallel(topics, func(i int) {
		post("http://"+b.http+"/topic/create?topic="+topicName(i), nil)
		for c := 0; c < channels; c++ {
			post(fmt.Sprintf("http://%s/channel/create?topic=%s&channel=c%d", b.http, topicName(i), c), nil)
		}
	})
}

func publish(b *broker, topics int) {
	parallel(topics, func(i int) {
		post("http://"+b.http+"/pub?topic="+topicName(i), []byte("x"))
	})
}

// consume subscribes to every topic's channels c0..c(channels-1) and counts
// the messages until none came for two seconds.
func consume(b *broker, topics, channels int) int {
	var mu sync.Mutex
	got := 0
	last := time.Now()
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = 1
	var cons []*gonsq.Consumer
	for i := 0; i < topics; i++ {
		for c := 0; c < channels; c++ {
			cs, err := gonsq.NewConsumer(topicName(i), fmt.Sprintf("c%d", c), cfg)
			if err != nil {
				log.Fatal(err)
			}
			cs.SetLogger(log.New(io.Discard, "", 0), gonsq.LogLevelError)
			cs.AddHandler(gonsq.HandlerFunc(func(m *gonsq.Message) error {
				mu.Lock()
				got++
				last = time.Now()
				mu.Unlock()
				return nil
			}))
			if err := cs.ConnectToNSQD(b.tcp); err != nil {
				log.Fatal(err)
			}
			cons = append(cons, cs)
			if len(cons)%500 == 0 { // one connection each: give the broker a breath
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	for {
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		done := got >= topics*channels || time.Since(last) > 2*time.Second
		n := got
		mu.Unlock()
		if done {
			for _, cs := range cons {
				cs.Stop()
			}
			return n
		}
	}
}

// backlog publishes with upstream's bench_writer (MPUB 200 x 200 B, one
// connection) for runfor into a topic with one channel, then drains it
// with bench_reader, sampling the broker's RSS every 50 ms; it prints
// peak RSS (VmHWM), the rates both tools report and whether everything
// was delivered. With cgLimit (MiB) the broker runs in a v1 memory cgroup
// of that limit, made and removed here.
func backlog(name, bin, dir string, extra []string, writer, reader string, runfor time.Duration, cgLimit int64) {
	data := filepath.Join(dir, name)
	_ = os.RemoveAll(data)
	if err := os.MkdirAll(data, 0o755); err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(data)
	cg := ""
	if cgLimit > 0 {
		cg = fmt.Sprintf("/sys/fs/cgroup/memory/storagecheck-%d", os.Getpid())
		if err := os.Mkdir(cg, 0o755); err != nil {
			log.Fatalf("memory cgroup: %v", err)
		}
		defer os.Remove(cg)
		if err := os.WriteFile(cg+"/memory.limit_in_bytes", []byte(strconv.FormatInt(cgLimit<<20, 10)), 0o644); err != nil {
			log.Fatalf("memory cgroup limit: %v", err)
		}
	}
	b := startIn(cg, bin, data, extra)
	post("http://"+b.http+"/topic/create?topic=backlog", nil)
	post("http://"+b.http+"/channel/create?topic=backlog&channel=ch", nil)
	stop := make(chan struct{})
	peak := make(chan memInfo)
	go func() {
		var hi memInfo
		for {
			select {
			case <-stop:
				peak <- hi
				return
			case <-time.After(50 * time.Millisecond):
			}
			m := b.mem()
			if m.rss > hi.rss {
				hi = m
			}
			if os.Getenv("STORAGECHECK_TRACE") != "" {
				fmt.Fprintf(os.Stderr, "%s rss %.1f anon %.1f file %.1f segments %.1f\n", time.Now().Format("05.000"), mib(m.rss), mib(m.anon), mib(m.file), mib(segResident(b.cmd.Process.Pid)))
			}
		}
	}()
	wout, err := exec.Command(writer, "--nsqd-tcp-address="+b.tcp, "--topic=backlog", "--runfor="+runfor.String()).CombinedOutput()
	if err != nil {
		log.Fatalf("bench_writer: %v %s", err, wout)
	}
	written := b.mem()
	depth := channelDepth(b)
	rd := exec.Command(reader, "--nsqd-tcp-address="+b.tcp, "--topic=backlog", "--channel=ch", "--runfor=10m")
	var rout bytes.Buffer
	rd.Stdout, rd.Stderr = &rout, &rout
	t0 := time.Now()
	if err := rd.Start(); err != nil {
		log.Fatal(err)
	}
	for last := time.Now(); ; {
		d := channelDepth(b)
		if d == 0 {
			break
		}
		if time.Since(last) > 5*time.Second {
			fmt.Fprintf(os.Stderr, "%s: %d left, rss %.1f MiB\n", name, d, mib(b.mem().rss))
			last = time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	drain := time.Since(t0)
	_ = rd.Process.Signal(syscall.SIGINT)
	_ = rd.Wait()
	close(stop)
	hi := <-peak
	m := b.mem()
	cgInfo := ""
	if cg != "" {
		fail, _ := os.ReadFile(cg + "/memory.failcnt")
		maxUse, _ := os.ReadFile(cg + "/memory.max_usage_in_bytes")
		oom, _ := os.ReadFile(cg + "/memory.oom_control")
		mu, _ := strconv.ParseInt(strings.TrimSpace(string(maxUse)), 10, 64)
		cgInfo = fmt.Sprintf("  cgroup %d MiB: max usage %.1f MiB, failcnt %s, oom_kill %s", cgLimit, mib(mu),
			strings.TrimSpace(string(fail)), oomKills(string(oom)))
	}
	fmt.Printf("%-8s backlog %d msgs; rss after publish %.1f MiB; peak rss %.1f MiB (sampled: anon %.1f, file %.1f), VmHWM %.1f MiB; drained in %.1fs (%.0f msg/s)%s\n",
		name, depth, mib(written.rss), mib(hi.rss), mib(hi.anon), mib(hi.file), mib(m.hwm), drain.Seconds(), float64(depth)/drain.Seconds(), cgInfo)
	fmt.Printf("%-8s bench_writer: %s", name, lastLine(wout))
	b.stop()
}

func oomKills(oomControl string) string {
	for _, l := range strings.Split(oomControl, "\n") {
		if v, ok := strings.CutPrefix(l, "oom_kill "); ok {
			return v
		}
	}
	return "?"
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1] + "\n"
}

// channelDepth is backlog/ch's depth (deferred included) from /stats: 0
// once every message was delivered.
func channelDepth(b *broker) int64 {
	resp, err := client.Get("http://" + b.http + "/stats?format=json&topic=backlog&channel=ch")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Topics []struct {
			Channels []struct {
				Depth    int64 `json:"depth"`
				InFlight int64 `json:"in_flight_count"`
				Deferred int64 `json:"deferred_count"`
			} `json:"channels"`
		} `json:"topics"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		log.Fatal(err)
	}
	var n int64
	for _, t := range doc.Topics {
		for _, c := range t.Channels {
			// In flight does not count: bench_reader flushes its FINs
			// only every 3/4 of its RDY, so its last ones wait in its
			// buffer until the messages time out.
			n += c.Depth + c.Deferred
		}
	}
	return n
}

// segResident sums the resident bytes of the process's mappings of log
// segments (files named *.seg or *.spare), from /proc/PID/smaps.
func segResident(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	var n int64
	seg := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			name := fs[len(fs)-1]
			seg = strings.HasSuffix(name, ".seg") || strings.HasSuffix(name, ".spare")
			continue
		}
		if seg && fs[0] == "Rss:" {
			v, _ := strconv.ParseInt(fs[1], 10, 64)
			n += v << 10
		}
	}
	return n
}
