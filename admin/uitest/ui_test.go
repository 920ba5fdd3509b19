// Package uitest drives nsqadmin's UI in a real browser (Chromium, through
// the DevTools protocol with chromedp) against a real cluster: every page
// must load without a console error and show the numbers the nsqd's /stats
// report; pausing, emptying, deleting and tombstoning from the UI must
// change the brokers; charts must be drawn.
//
// Screenshots of every page go to testdata/screenshots (ignored by git),
// or the directory named by NSQADMIN_SCREENSHOTS; with -docs the main ones
// are also written to docs/img for the README.
//
// Chromium is found as CHROMIUM_BIN, or chromium, chromium-browser or
// google-chrome on the PATH (`make deps` installs Debian's). Without one,
// or if it cannot start, the test is skipped and says why.
package uitest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/admin/admintest"
	"github.com/nsqfast/nsq/engine/nsqd"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

var docs = flag.Bool("docs", false, "also write the main screenshots to docs/img")

// browser is one Chromium tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // nsqadmin's URL
	dir  string // screenshots

	mu      sync.Mutex
	console []string // errors and exceptions seen so far
}

func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on the PATH (make deps installs it; or set CHROMIUM_BIN)")
}

func screenshotDir(t *testing.T) string {
	dir := os.Getenv("NSQADMIN_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts Chromium; the test is skipped if it cannot.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe, err := chromiumPath()
	if err != nil {
		t.Skipf("skipping the browser tests: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, dir: screenshotDir(t)}
	// the first Run starts the browser
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1360, 900)); err != nil {
		t.Skipf("skipping the browser tests: %s cannot start: %v", exe, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// noConsoleErrors fails the test if the page has logged an error.
func (b *browser) noConsoleErrors(where string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.console {
		b.t.Errorf("%s: console error: %s", where, c)
	}
	b.console = nil
}

// open loads path of nsqadmin and waits until the page has rendered.
func (b *browser) open(path string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(b.base+path)); err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	b.waitJS("page "+path+" ready", `document.getElementById('page').dataset.state === 'ready'`)
	b.noConsoleErrors(path)
}

// waitJS polls a JavaScript expression until it is truthy.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
		var html string
		_ = chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			var err error
			html, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('page').innerText.slice(0, 2000)`))
			return err
		}))
		b.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, html)
	}
}

func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// on points the browser at another nsqadmin until the returned func is
// called, which leaves its page first.
func (b *browser) on(a *admin.NSQAdmin) (back func()) {
	saved := b.base
	b.base = "http://" + a.HTTPAddr().String()
	return func() {
		b.leave()
		b.base = saved
	}
}

// leave shows a blank page: before the nsqadmin of the current page stops,
// so that the page's timers do not call a closed port.
func (b *browser) leave() {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatal(err)
	}
	b.noConsoleErrors("leaving " + b.base)
}

// click clicks the element sel as a user would. A page may be drawn again
// (auto-refresh, or the reload after an action) between finding the
// element and clicking it: then it is found again.
func (b *browser) click(sel string) {
	b.t.Helper()
	var err error
	for range 5 {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		cancel()
		if err == nil || !strings.Contains(err.Error(), "Could not find node") && !strings.Contains(err.Error(), "detached") {
			break
		}
	}
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
}

// confirm clicks the button sel and answers the confirmation dialog it
// opens. A click can land on a button the page is about to redraw (it
// redraws when its next poll sees a change), and then no dialog opens: it
// clicks again. A lost click does nothing, since every action waits for
// the dialog's OK.
func (b *browser) confirm(sel, question string, ok bool) {
	b.t.Helper()
	for try := 1; ; try++ {
		b.click(sel)
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!document.getElementById('modal').hidden", chromedp.WithPollingInterval(25*time.Millisecond)))
		cancel()
		if err == nil {
			break
		}
		if try == 3 {
			b.t.Fatalf("no confirmation dialog after clicking %s %d times: %v", sel, try, err)
		}
	}
	b.answer(question, ok)
}

// answer waits for the confirmation dialog, checks its question, and
// clicks OK (or Cancel).
func (b *browser) answer(question string, ok bool) {
	b.t.Helper()
	b.waitJS("the confirmation dialog", `!document.getElementById('modal').hidden`)
	if q := eval[string](b, `document.getElementById('modal-text').textContent`); !strings.Contains(q, question) {
		b.t.Errorf("dialog asks %q, want %q", q, question)
	}
	if ok {
		b.click("#modal-ok")
	} else {
		b.click("#modal-cancel")
	}
	b.waitJS("the dialog to close", `document.getElementById('modal').hidden`)
}

// shot saves a full-page screenshot as name.png (and in docs/img with
// -docs when forDocs).
func (b *browser) shot(name string, forDocs bool) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if *docs && forDocs {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "nsqadmin-"+name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// rows returns, for each row of the table sel that has a data-key
// attribute, the key and its cells' text.
func (b *browser) rows(sel, key string) map[string][]string {
	b.t.Helper()
	return eval[map[string][]string](b, `Object.fromEntries(Array.from(document.querySelectorAll(`+
		strconv.Quote(sel+" tr[data-"+key+"]")+`)).map(tr => [tr.dataset.`+key+
		`, Array.from(tr.cells).map(c => c.textContent.trim().replace(/\s+/g, ' '))]))`)
}

func commafy(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// fixture starts the cluster the pages show: two nsqd (with e2e latency
// percentiles), one nsqlookupd.
//
//   - orders, on both nsqd: channel billing with a consumer on nsqd 0 that
//     holds its messages (snappy, sampled 99%, its own user agent), and
//     channel archive with no consumer; nothing is published to it while
//     the test runs, so its numbers are fixed;
//   - events, on nsqd 0, published to all along, consumed by channel
//     audit: its charts move;
//   - ghost, only in nsqlookupd, with channel gc: inactive.
func fixture(t *testing.T) (*admintest.Cluster, func()) {
	c := admintest.Start(t, admintest.Config{
		NSQDs: 2,
		NSQD: func(i int, o *nsqd.Options) {
			o.E2EProcessingLatencyPercentiles = []float64{0.99, 0.5}
			o.E2EProcessingLatencyWindowTime = time.Minute
		},
		Admin: func(o *admin.Options) {
			o.SampleInterval = 250 * time.Millisecond
			o.SampleHistory = 2 * time.Minute
		},
	})
	for i := range 2 {
		c.CreateChannel(t, i, "orders", "billing")
		c.CreateChannel(t, i, "orders", "archive")
	}
	c.Publish(t, 0, "orders", "o1", "o2", "o3", "o4")
	c.Publish(t, 1, "orders", "o5", "o6")
	cfg := gonsq.NewConfig()
	cfg.UserAgent = "ui-test/1.0"
	cfg.Snappy = true
	cfg.SampleRate = 99
	c.Consume(t, 0, "orders", "billing", true, cfg)
	admintest.WaitFor(t, "billing in flight", func() bool { return c.Channel(t, 0, "orders", "billing").InFlightCount == 1 })

	c.CreateChannel(t, 0, "events", "audit")
	c.Consume(t, 0, "events", "audit", false, nil)
	lookupd := "http://" + c.LookupdHTTP()[0]
	admintest.MustDo(t, "POST", lookupd+"/topic/create?topic=ghost", "")
	admintest.MustDo(t, "POST", lookupd+"/channel/create?topic=ghost&channel=gc", "")
	c.WaitRegistered(t, "orders", "archive", 2)
	c.WaitRegistered(t, "events", "audit", 1)

	// events: a few messages every 50ms until stopped
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; !stopped.Load(); n++ {
			body := strings.Repeat("e", 1+n%5)
			resp, err := http.Post(c.NSQDURL(0, "/mpub?topic=events"), "text/plain", strings.NewReader(body+"\n"+body+"\n"+body))
			if err == nil {
				resp.Body.Close()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	stop := func() {
		if stopped.CompareAndSwap(false, true) {
			<-done
		}
	}
	t.Cleanup(stop)
	return c, stop
}

func TestUI(t *testing.T) {
	b := newBrowser(t)
	c, stopEvents := fixture(t)
	b.base = c.URL("")
	start := time.Now()
	defer func() {
		t.Logf("browser tests took %s; screenshots in %s", time.Since(start).Round(time.Millisecond), b.dir)
	}()

	// the browser's helpers fail the subtest that uses them
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			parent := b.t
			b.t = t
			defer func() { b.t = parent }()
			f(t)
		})
	}
	run("streams", func(t *testing.T) { testStreams(t, b, c) })
	run("topic", func(t *testing.T) { testTopic(t, b, c) })
	run("channel", func(t *testing.T) { testChannel(t, b, c) })
	run("nodes", func(t *testing.T) { testNodes(t, b, c) })
	run("node", func(t *testing.T) { testNode(t, b, c) })
	run("counter", func(t *testing.T) { testCounter(t, b, c) })
	run("auto-refresh", func(t *testing.T) { testAutoRefresh(t, b, c) })
	run("lookup", func(t *testing.T) { testLookup(t, b, c) })
	run("screenshots", func(t *testing.T) { testScreenshots(t, b) })
	run("channel actions", func(t *testing.T) { testChannelActions(t, b, c) })
	run("topic actions", func(t *testing.T) { stopEvents(); testTopicActions(t, b, c) })
	run("tombstone", func(t *testing.T) { testTombstone(t, b, c) })
	run("not admin", func(t *testing.T) { testNotAdmin(t, b, c) })
	run("nsqd addresses", func(t *testing.T) { testNSQDMode(t, b, c) })
	run("graphite", func(t *testing.T) { testGraphite(t, b, c) })
	run("messages", func(t *testing.T) { testMessages(t, b, c) })
	b.noConsoleErrors("the end")
}

func testStreams(t *testing.T, b *browser, c *admintest.Cluster) {
	b.open("/")
	topics := eval[[]string](b, `Array.from(document.querySelectorAll('tr[data-topic]')).map(tr => tr.dataset.topic)`)
	if strings.Join(topics, ",") != "events,ghost,orders" {
		t.Errorf("topics %v", topics)
	}
	// the live columns fill in from nsqadmin's samples
	b.waitJS("the events sparkline and rate", `(() => {
		const tr = document.querySelector('tr[data-topic="events"]');
		return Number(tr.querySelector('canvas.spark').dataset.drawn) >= 3 && /\/s$/.test(tr.querySelector('[data-live="rate"]').textContent);
	})()`)
	b.waitJS("orders depth", `document.querySelector('tr[data-topic="orders"] [data-live="depth"]').textContent === '0'`)
	b.shot("topics", false)
	// client-side navigation: the Nodes link
	b.click(`#nav a[href="/nodes"]`)
	b.waitJS("the nodes page", `location.pathname === '/nodes' && document.getElementById('page').dataset.page === 'nodes' && document.getElementById('page').dataset.state === 'ready'`)
	b.noConsoleErrors("nodes via the menu")
}

// topicCells are the cells the topic page must show for one nsqd (its
// live rate left out).
func topicCells(depth, backend int64, msgs uint64, channels int) []string {
	return []string{commafy(uint64(depth)), commafy(uint64(depth-backend)) + " + " + commafy(uint64(backend)), commafy(msgs), strconv.Itoa(channels)}
}

// withoutRate drops the live rate column (index i) of a row.
func withoutRate(row []string, i int) []string {
	if len(row) <= i {
		return row
	}
	return slices.Delete(slices.Clone(row), i, i+1)
}

func testTopic(t *testing.T, b *browser, c *admintest.Cluster) {
	b.open("/topics/orders")
	rows := b.rows("#topic-nodes", "node")
	var sum [3]int64
	var msgs uint64
	for i := range 2 {
		st := c.Topic(t, i, "orders")
		got := withoutRate(rows[c.Node(i)], 4)
		if len(got) < 5 || !slices.Equal(got[1:5], topicCells(st.Depth, st.BackendDepth, st.MessageCount, len(st.Channels))) {
			t.Errorf("nsqd %d row %q, /stats says depth %d backend %d messages %d channels %d", i, got, st.Depth, st.BackendDepth, st.MessageCount, len(st.Channels))
		}
		sum[0] += st.Depth
		sum[1] += st.BackendDepth
		msgs += st.MessageCount
	}
	if got := withoutRate(rows["*"], 4); len(got) < 5 || !slices.Equal(got[1:5], topicCells(sum[0], sum[1], msgs, 2)) || got[0] != "Total:" {
		t.Errorf("total row %q", got)
	}
	// e2e latency columns, as nsqd is configured with two percentiles
	if heads := eval[string](b, `document.querySelector('#topic-nodes thead').textContent.replace(/\s+/g, ' ')`); !strings.Contains(heads, "99th") || !strings.Contains(heads, "50th") {
		t.Errorf("no percentile columns: %q", heads)
	}

	chans := b.rows("#topic-channels", "channel")
	for _, name := range []string{"archive", "billing"} {
		var depth int64
		var inflight, clients int
		var m uint64
		for i := range 2 {
			ch := c.Channel(t, i, "orders", name)
			depth += ch.Depth
			inflight += ch.InFlightCount
			clients += ch.ClientCount
			m += ch.MessageCount
		}
		got := chans[name]
		want := []string{name, commafy(uint64(depth)), commafy(uint64(depth)) + " + 0", strconv.Itoa(inflight), "0", "0", "0", commafy(m), strconv.Itoa(clients)}
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("channel %s row %q, want %q", name, got, want)
		}
	}
	b.waitJS("three charts with samples", `document.querySelectorAll('.chart canvas').length === 3 &&
		Array.from(document.querySelectorAll('.chart canvas')).every(c => Number(c.dataset.points) >= 3)`)
	b.waitJS("the channel sparklines", `Array.from(document.querySelectorAll('#topic-channels canvas.spark')).every(c => Number(c.dataset.drawn) >= 3)`)
	b.shot("topic", false)

	b.waitJS("the live rate of each nsqd", `Array.from(document.querySelectorAll('#topic-nodes td.live-rate')).every(td => td.textContent === '0/s')`)

	// events moves: its rate chart shows a positive rate, and so does the
	// rate column of its nsqd and the total
	b.open("/topics/events")
	b.waitJS("a positive rate", `parseFloat((document.querySelector('[data-chart="rate"] b[data-last]') || {}).textContent) > 0`)
	b.waitJS("positive live rates", `Array.from(document.querySelectorAll('#topic-nodes td.live-rate')).every(td => parseFloat(td.textContent) > 0)`)
	b.shot("topic-live", false)
}

func testChannel(t *testing.T, b *browser, c *admintest.Cluster) {
	b.open("/topics/orders/billing")
	rows := b.rows("#channel-nodes", "node")
	for i := range 2 {
		ch := c.Channel(t, i, "orders", "billing")
		want := []string{commafy(uint64(ch.Depth)), commafy(uint64(ch.Depth)) + " + 0", strconv.Itoa(ch.InFlightCount),
			strconv.Itoa(ch.DeferredCount), commafy(ch.RequeueCount), commafy(ch.TimeoutCount), commafy(ch.MessageCount), strconv.Itoa(ch.ClientCount)}
		if got := withoutRate(rows[c.Node(i)], 8); len(got) < 9 || !slices.Equal(got[1:9], want) {
			t.Errorf("nsqd %d: %q, want %q", i, got, want)
		}
	}
	cl := c.Channel(t, 0, "orders", "billing").Clients[0]
	clients := b.rows("#channel-clients", "client")
	got := clients[cl.RemoteAddress]
	port := cl.RemoteAddress[strings.LastIndexByte(cl.RemoteAddress, ':')+1:]
	if len(got) != 10 || got[0] != cl.Hostname+":"+port || got[1] != "ui-test/1.0" || got[2] != "Sampled 99% Snappy" ||
		got[3] != c.Node(0) || got[4] != "1" || got[5] != strconv.FormatInt(cl.ReadyCount, 10) || got[6] != "0" || got[8] != "1" {
		t.Errorf("client row %q (stats %+v)", got, cl)
	}
	b.waitJS("the channel's charts", `Array.from(document.querySelectorAll('.chart canvas')).every(c => Number(c.dataset.points) >= 3) &&
		document.querySelector('[data-chart="in_flight"] b[data-last]').textContent === '1'`)
	b.shot("channel", false)
}

func testNodes(t *testing.T, b *browser, c *admintest.Cluster) {
	b.open("/nodes")
	rows := b.rows("#nodes", "node")
	var nodes lookupdoc.Nodes
	if err := admintest.GetJSON("http://"+c.LookupdHTTP()[0]+"/nodes", &nodes); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %q", rows)
	}
	for _, p := range nodes.Producers {
		got := rows["127.0.0.1:"+strconv.Itoa(p.HTTPPort)]
		topics := strconv.Itoa(len(p.Topics)) + " " + strings.Join(p.Topics, " ")
		if len(got) != 7 || got[0] != p.Hostname || got[1] != "127.0.0.1" || got[2] != strconv.Itoa(p.TCPPort) ||
			got[3] != strconv.Itoa(p.HTTPPort) || got[4] != p.Version || !strings.HasPrefix(got[5], "1") || got[6] != topics {
			t.Errorf("node %d: %q, want topics %q", p.HTTPPort, got, topics)
		}
	}
	b.shot("nodes", false)
}

func testNode(t *testing.T, b *browser, c *admintest.Cluster) {
	// events is published to all along: the page's count lies between a
	// read of /stats before the page and one after it
	st := c.Stats(t, 0)
	b.open("/nodes/" + c.Node(0))
	var msgs uint64
	clients := 0
	for _, tp := range st.Topics {
		msgs += tp.MessageCount
		for _, ch := range tp.Channels {
			clients += len(ch.Clients)
		}
	}
	shown := eval[[]string](b, `['node-topics','node-messages','node-clients'].map(id => document.getElementById(id).textContent)`)
	n, _ := strconv.ParseUint(strings.ReplaceAll(shown[1], ",", ""), 10, 64)
	var after uint64
	for _, tp := range c.Stats(t, 0).Topics {
		after += tp.MessageCount
	}
	if shown[0] != strconv.Itoa(len(st.Topics)) || shown[2] != strconv.Itoa(clients) || n < msgs || n > after {
		t.Errorf("totals %q; /stats: %d topics, %d..%d messages, %d clients", shown, len(st.Topics), msgs, after, clients)
	}
	ch := eval[[]string](b, `Array.from(document.querySelectorAll('#node-table tbody[data-topic="orders"] tr.channel-row[data-channel="archive"] td')).map(td => td.textContent.trim())`)
	arch := c.Channel(t, 0, "orders", "archive")
	if len(ch) != 10 || ch[2] != commafy(uint64(arch.Depth)) || ch[8] != commafy(arch.MessageCount) {
		t.Errorf("archive row %q, /stats %+v", ch, arch)
	}
	b.shot("node", false)
}

func testCounter(t *testing.T, b *browser, c *admintest.Cluster) {
	total := func() uint64 {
		var n uint64
		for i := range 2 {
			for _, tp := range c.Stats(t, i).Topics {
				for _, ch := range tp.Channels {
					n += ch.MessageCount
				}
			}
		}
		return n
	}
	before := total()
	b.open("/counter")
	b.waitJS("the counter", `Number(document.getElementById('counter-digits').dataset.count) >= `+strconv.FormatUint(before, 10))
	// it keeps counting: shown values never exceed what /stats says
	b.waitJS("the counter to move", `Number(document.getElementById('counter-digits').dataset.count) > `+strconv.FormatUint(before, 10))
	shown := eval[string](b, `document.getElementById('counter-digits').dataset.count`)
	n, _ := strconv.ParseUint(shown, 10, 64)
	if after := total(); n > after {
		t.Errorf("counter %d beyond /stats %d", n, after)
	}
	b.waitJS("the rate line", `/messages per second$/.test(document.getElementById('counter-rate').textContent)`)
	b.waitJS("the cluster chart", `Number(document.querySelector('.chart canvas').dataset.points) >= 3`)
	b.shot("counter", false)
}

// testScreenshots takes the pictures of the README, once the charts have
// some history, in a short viewport so that they end with the content.
func testScreenshots(t *testing.T, b *browser) {
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 240)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1360, 900)); err != nil {
			t.Fatal(err)
		}
	}()
	for _, page := range []struct{ path, name, chart string }{
		{"/", "topics", `tr[data-topic="events"] canvas.spark`},
		{"/topics/events", "topic", ".chart canvas"},
		{"/topics/orders/billing", "channel", ".chart canvas"},
		{"/counter", "counter", ".chart canvas"},
		{"/nodes", "nodes", ""},
	} {
		b.open(page.path)
		if page.chart != "" {
			b.waitJS("charts with history on "+page.path, `Array.from(document.querySelectorAll(`+strconv.Quote(page.chart)+`)).every(c => Number(c.dataset.points || c.dataset.drawn) >= 30)`)
		}
		b.shot(page.name, true)
	}
}

func testAutoRefresh(t *testing.T, b *browser, c *admintest.Cluster) {
	eval[bool](b, `(localStorage.setItem('nsqadmin.refresh', '2s'), true)`)
	defer eval[bool](b, `(localStorage.removeItem('nsqadmin.refresh'), true)`)
	b.open("/topics/events")
	first := eval[string](b, `document.querySelector('#topic-nodes tr.total').cells[3].textContent`)
	eval[bool](b, `(window.__marker = 1, true)`) // gone if the page were loaded again
	b.waitJS("the messages count to change by itself", `document.querySelector('#topic-nodes tr.total').cells[3].textContent !== `+strconv.Quote(first)+` && window.__marker === 1`)
	if sel := eval[string](b, `document.getElementById('refresh').value`); sel != "2s" {
		t.Errorf("refresh setting shows %q", sel)
	}
}

func testLookup(t *testing.T, b *browser, c *admintest.Cluster) {
	b.open("/lookup")
	tree := eval[string](b, `document.getElementById('inactive').textContent.replace(/\s+/g, ' ').trim()`)
	if tree != "✘ ghost ✘ gc" {
		t.Errorf("inactive tree %q", tree)
	}
	b.shot("lookup", false)
	// create a topic and channel
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS(`#create-form input[name=topic]`), "planned"),
		chromedp.SendKeys(chromedp.CSS(`#create-form input[name=channel]`), "later")); err != nil {
		t.Fatal(err)
	}
	b.confirm(`#create-form button[type=submit]`, "Create channel planned/later?", true)
	lookupd := "http://" + c.LookupdHTTP()[0]
	admintest.WaitFor(t, "planned/later in nsqlookupd", func() bool {
		var ch lookupdoc.Channels
		return admintest.GetJSON(lookupd+"/channels?topic=planned", &ch) == nil && len(ch.Channels) == 1 && ch.Channels[0] == "later"
	})
	b.waitJS("planned in the tree", `!!document.querySelector('#inactive li[data-topic="planned"] li[data-channel="later"]')`)
	// an inactive topic's page says that no nsqd has it
	b.click(`#inactive li[data-topic="ghost"] > a`)
	b.waitJS("the ghost topic page", `location.pathname === '/topics/ghost' && document.getElementById('page').dataset.state === 'ready'`)
	if txt := eval[string](b, `document.getElementById('page').innerText`); !strings.Contains(txt, "No nsqd has this topic now") {
		t.Errorf("ghost topic page:\n%s", txt)
	}
	b.open("/lookup")
	// delete the inactive channel, then the topic
	b.confirm(`#inactive button.delete-channel[data-topic="ghost"][data-channel="gc"]`, "Delete channel ghost/gc from every nsqlookupd?", true)
	b.waitJS("gc gone", `!document.querySelector('#inactive li[data-channel="gc"]')`)
	b.confirm(`#inactive button.delete-topic[data-topic="ghost"]`, "Delete topic ghost from every nsqlookupd?", true)
	b.waitJS("ghost gone", `!document.querySelector('#inactive li[data-topic="ghost"]')`)
	var topics lookupdoc.Topics
	if err := admintest.GetJSON(lookupd+"/topics", &topics); err != nil || slices.Contains(topics.Topics, "ghost") {
		t.Errorf("ghost still in nsqlookupd: %v %v", topics, err)
	}
	b.noConsoleErrors("lookup")
}

func testChannelActions(t *testing.T, b *browser, c *admintest.Cluster) {
	both := func(what string, cond func(i int) bool) {
		t.Helper()
		admintest.WaitFor(t, what, func() bool { return cond(0) && cond(1) })
	}
	b.open("/topics/orders/archive")
	// Cancel does nothing
	b.click(`.actions button[data-action="pause"]`)
	b.shot("confirm", false)
	b.answer("Pause channel orders/archive on every nsqd that has it?", false)
	if c.Channel(t, 0, "orders", "archive").Paused {
		t.Fatal("paused although cancelled")
	}
	b.confirm(`.actions button[data-action="pause"]`, "Pause channel orders/archive on every nsqd that has it?", true)
	both("archive paused on both nsqd", func(i int) bool { return c.Channel(t, i, "orders", "archive").Paused })
	b.waitJS("the UnPause button and the paused label", `!!document.querySelector('.actions button[data-action="unpause"]') && !!document.querySelector('h2 .label-paused')`)

	b.confirm(`.actions button[data-action="empty"]`, "Empty channel orders/archive", true)
	both("archive empty", func(i int) bool { return c.Channel(t, i, "orders", "archive").Depth == 0 })
	b.waitJS("depth 0 shown", `document.querySelector('#channel-nodes tr.total').cells[1].textContent === '0'`)
	if d := c.Channel(t, 0, "orders", "billing").Depth; d == 0 {
		t.Error("emptying archive emptied billing")
	}

	b.confirm(`.actions button[data-action="unpause"]`, "Resume channel orders/archive", true)
	both("archive unpaused", func(i int) bool { return !c.Channel(t, i, "orders", "archive").Paused })
	// The page redraws its buttons once it sees the change: a click before
	// that can land on a button about to be replaced.
	b.waitJS("the Pause button and no paused label", `!!document.querySelector('.actions button[data-action="pause"]') && !document.querySelector('h2 .label-paused')`)

	b.confirm(`.actions button[data-action="delete"]`, "Delete channel orders/archive from every nsqd and nsqlookupd?", true)
	both("archive deleted", func(i int) bool { return c.Channel(t, i, "orders", "archive") == nil })
	b.waitJS("back on the topic page", `location.pathname === '/topics/orders' && document.getElementById('page').dataset.state === 'ready' && !document.querySelector('#topic-channels tr[data-channel="archive"]')`)
	b.noConsoleErrors("channel actions")
}

func testTopicActions(t *testing.T, b *browser, c *admintest.Cluster) {
	b.open("/topics/orders")
	b.confirm(`.actions button[data-action="pause"]`, "Pause topic orders", true)
	admintest.WaitFor(t, "orders paused", func() bool { return c.Topic(t, 0, "orders").Paused && c.Topic(t, 1, "orders").Paused })
	b.waitJS("paused shown", `!!document.querySelector('.actions button[data-action="unpause"]') && document.querySelectorAll('#topic-nodes .label-paused').length === 2`)
	// a paused topic holds what is published: empty it
	c.Publish(t, 1, "orders", "held", "held")
	b.confirm(`.actions button[data-action="empty"]`, "Empty topic orders", true)
	admintest.WaitFor(t, "orders empty", func() bool { return c.Topic(t, 1, "orders").Depth == 0 })
	b.confirm(`.actions button[data-action="unpause"]`, "Resume topic orders", true)
	admintest.WaitFor(t, "orders unpaused", func() bool { return !c.Topic(t, 0, "orders").Paused && !c.Topic(t, 1, "orders").Paused })

	b.open("/topics/events")
	b.confirm(`.actions button[data-action="delete"]`, "Delete topic events", true)
	admintest.WaitFor(t, "events deleted", func() bool { return c.Topic(t, 0, "events") == nil })
	b.waitJS("back on Topics without events", `location.pathname === '/' && document.getElementById('page').dataset.state === 'ready' && !document.querySelector('tr[data-topic="events"]')`)
	b.noConsoleErrors("topic actions")
}

func testTombstone(t *testing.T, b *browser, c *admintest.Cluster) {
	b.open("/topics/orders")
	b.click(`#topic-nodes button.tombstone[data-node="` + c.Node(1) + `"]`)
	b.answer("Tombstone topic orders on "+c.Node(1), true)
	admintest.WaitFor(t, "orders gone from nsqd 1", func() bool { return c.Topic(t, 1, "orders") == nil })
	var l lookupdoc.Lookup
	if err := admintest.GetJSON("http://"+c.LookupdHTTP()[0]+"/lookup?topic=orders", &l); err != nil || len(l.Producers) != 1 ||
		"127.0.0.1:"+strconv.Itoa(l.Producers[0].HTTPPort) != c.Node(0) {
		t.Errorf("lookup after tombstone %+v %v", l, err)
	}
	b.waitJS("one nsqd left on the page", `document.querySelectorAll('#topic-nodes tr[data-node]').length === 2`)
	b.noConsoleErrors("tombstone")
}

func testNotAdmin(t *testing.T, b *browser, c *admintest.Cluster) {
	other := c.StartAdmin(t, func(o *admin.Options) { o.AdminUsers = []string{"root"} })
	defer b.on(other)()
	b.open("/topics/orders")
	if n := eval[int](b, `document.querySelectorAll('.actions button, button.tombstone').length`); n != 0 {
		t.Errorf("%d action buttons for a viewer who may not act", n)
	}
	if eval[bool](b, `!!document.getElementById('messages')`) {
		t.Error("the messages panel is shown to a viewer who may not see bodies")
	}
	b.open("/lookup")
	if eval[bool](b, `!!document.getElementById('create-form')`) {
		t.Error("the create form is shown to a viewer who may not act")
	}
}

// testNSQDMode: with --nsqd-http-address instead of nsqlookupd.
func testNSQDMode(t *testing.T, b *browser, c *admintest.Cluster) {
	other := c.StartAdmin(t, func(o *admin.Options) {
		o.NSQLookupdHTTPAddresses = nil
		o.NSQDHTTPAddresses = c.NSQDHTTP()
	})
	defer b.on(other)()
	b.open("/")
	if topics := eval[[]string](b, `Array.from(document.querySelectorAll('tr[data-topic]')).map(tr => tr.dataset.topic)`); strings.Join(topics, ",") != "orders" {
		t.Errorf("topics %v", topics)
	}
	b.open("/nodes")
	if n := eval[int](b, `document.querySelectorAll('#nodes tr[data-node]').length`); n != 2 {
		t.Errorf("%d nodes", n)
	}
	b.open("/lookup")
	if txt := eval[string](b, `document.getElementById('page').innerText`); !strings.Contains(txt, "there is nothing to look up") {
		t.Errorf("lookup page:\n%s", txt)
	}
}

// testGraphite: with --graphite-url the pages carry Graphite's sparklines,
// named as nsqd's statsd names its metrics, and rates from /api/graphite.
func testGraphite(t *testing.T, b *browser, c *admintest.Cluster) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 2))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var targets []string
	graphite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		targets = append(targets, q["target"]...)
		mu.Unlock()
		if q.Get("format") == "json" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode([]map[string]any{{"target": q.Get("target"), "datapoints": [][]any{{90.0, 1700000000}}}})
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngBuf.Bytes())
	}))
	defer graphite.Close()
	g := c.StartAdmin(t, func(o *admin.Options) {
		o.GraphiteURL = graphite.URL
		o.StatsdInterval = 10 * time.Second
	})
	defer b.on(g)()
	b.open("/topics/orders?t=1h")
	b.waitJS("every Graphite image loaded", `document.querySelectorAll('a.graphite img').length > 0 &&
		Array.from(document.querySelectorAll('a.graphite img')).every(i => i.complete && i.naturalWidth === 4)`)
	b.waitJS("the rates", `Array.from(document.querySelectorAll('.graphite-rate')).every(td => td.textContent === '9.00')`)
	srcs := eval[[]string](b, `Array.from(document.querySelectorAll('a.graphite img')).map(i => i.src)`)
	host := strings.NewReplacer(".", "_", ":", "_").Replace(c.Node(0))
	wantSpark := `summarize(sumSeries(stats.gauges.nsq.` + host + `.topic.orders.depth),"10sec","avg")`
	found := false
	for _, s := range srcs {
		found = found || strings.Contains(s, "from=-1h") && strings.Contains(s, urlQueryEscape(wantSpark))
	}
	if !found {
		t.Errorf("no sparkline for %s in %q", wantSpark, srcs)
	}
	mu.Lock()
	if !slices.Contains(targets, "sumSeries(stats.counters.nsq.*.topic.orders.message_count.count)") {
		t.Errorf("no rate target for the total among %q", targets)
	}
	mu.Unlock()
	if sel := eval[string](b, `document.getElementById('graph-interval').value`); sel != "1h" {
		t.Errorf("graph interval %q", sel)
	}
	b.shot("topic-graphite", false)
}

func urlQueryEscape(s string) string {
	// as URLSearchParams encodes
	r := strings.NewReplacer("(", "%28", ")", "%29", ",", "%2C", `"`, "%22", "*", "*", ":", "%3A")
	return r.Replace(s)
}

// testMessages: the Messages panel of a channel lists what it would
// deliver next (bodies as escaped text, binary ones as base64, long ones
// cut with their size), pages through them, and consumes nothing.
func testMessages(t *testing.T, b *browser, c *admintest.Cluster) {
	c.CreateChannel(t, 0, "peeked", "look")
	bodies := []string{"<img src=x onerror=alert(1)><b>bold</b>", strings.Repeat("L", 5000)}
	for i := 0; i < 23; i++ {
		bodies = append(bodies, fmt.Sprint("m", i))
	}
	for _, body := range bodies {
		admintest.MustDo(t, "POST", c.NSQDURL(0, "/pub?topic=peeked"), body)
	}
	admintest.MustDo(t, "POST", c.NSQDURL(0, "/pub?topic=peeked"), "\xff\xfe")
	c.WaitRegistered(t, "peeked", "look", 1)
	b.open("/topics/peeked/look")
	b.click(`#messages button[data-peek="show"]`)
	b.waitJS("the first page of messages", `document.querySelectorAll('#messages table.peek tbody tr').length === 20`)
	cells := b.rows("#messages table.peek", "id")
	first := eval[[]string](b, `Array.from(document.querySelectorAll('#messages table.peek tbody tr:first-child td')).map(td => td.textContent.trim())`)
	if len(first) != 7 || first[0] != "1" || first[3] != "0" || first[4] != "ready" || first[5] != "39" || first[6] != bodies[0] {
		t.Errorf("first row %q", first)
	}
	if n := eval[int](b, `document.querySelectorAll('#messages .msg-body img, #messages .msg-body b').length`); n != 0 {
		t.Errorf("a body was rendered as HTML (%d elements)", n)
	}
	second := eval[string](b, `document.querySelector('#messages table.peek tbody tr:nth-child(2) .body-cell').textContent`)
	if !strings.Contains(second, strings.Repeat("L", 4096)) || strings.Contains(second, strings.Repeat("L", 4097)) || !strings.Contains(second, "cut: 5,000 bytes in all") {
		t.Errorf("long body cell: %d bytes, %q...", len(second), second[len(second)-40:])
	}
	if len(cells) != 20 {
		t.Errorf("%d rows with an id", len(cells))
	}
	b.click(`#messages button[data-peek="next"]`)
	b.waitJS("the second page", `document.querySelectorAll('#messages table.peek tbody tr').length === 6`)
	last := eval[[]string](b, `Array.from(document.querySelectorAll('#messages table.peek tbody tr:last-child td')).map(td => td.textContent.trim())`)
	if len(last) != 7 || last[0] != "26" || last[6] != "//4=base64" {
		t.Errorf("last row %q", last)
	}
	b.shot("messages", true)
	b.click(`#messages button[data-peek="prev"]`)
	b.waitJS("the first page again", `document.querySelector('#messages table.peek tbody tr:first-child td').textContent.trim() === '1'`)
	if ch := c.Channel(t, 0, "peeked", "look"); ch.Depth != 26 || ch.InFlightCount != 0 || ch.MessageCount != 26 {
		t.Errorf("channel after browsing: %+v", ch)
	}
	b.noConsoleErrors("messages")
}
