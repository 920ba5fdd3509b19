package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

const tool = "nsq_to_http"

// How a message picks its endpoints (--mode).
const (
	modeAll        = iota // any other --mode: every endpoint
	modeRoundRobin        // round-robin: each endpoint in turn
	modeHostPool          // hostpool, epsilon-greedy: a host pool
)

const defaultContentType = "application/octet-stream"

// run is main without the process: it returns the exit status once a
// signal arrives on sigs.
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	l := nsqtool.NewLogger(stderr)
	cfg := nsq.NewConfig()
	var getAddrs, postAddrs, headers, nsqdAddrs, lookupdAddrs nsqtool.StringArray
	fs := nsqtool.NewFlagSet(tool, stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	topic := fs.String("topic", "", "topic to read")
	channel := fs.String("channel", "nsq_to_http", "channel to read")
	maxInFlight := fs.Int("max-in-flight", 200, "most messages in flight at once")
	publishers := fs.Int("n", 100, "number of requests under way at once")
	mode := fs.String("mode", "hostpool", "how endpoints are chosen: round-robin, hostpool or epsilon-greedy")
	sample := fs.Float64("sample", 1.0, "fraction of the messages to send, from 0 to 1 (the others are dropped)")
	connectTimeout := fs.Duration("http-client-connect-timeout", 2*time.Second, "how long connecting to an endpoint may take")
	requestTimeout := fs.Duration("http-client-request-timeout", 20*time.Second, "how long a request may take")
	statusEvery := fs.Int("status-every", 250, "log timings every this many requests (0: never)")
	contentType := fs.String("content-type", defaultContentType, "Content-Type of POST requests")
	fs.Var(&postAddrs, "post", "URL to POST each message to, as the body (repeatable)")
	fs.Var(&headers, "header", "header of every request, as 'Name: value' (repeatable)")
	fs.Var(&getAddrs, "get", "URL to GET for each message; its one %s is replaced by the message, URL-escaped (repeatable)")
	fs.Var(&nsqdAddrs, "nsqd-tcp-address", "nsqd TCP address to read from (repeatable)")
	fs.Var(&lookupdAddrs, "lookupd-http-address", "nsqlookupd HTTP address to find nsqd with (repeatable)")
	fs.Var(nsqtool.ConfigFlag(cfg), "consumer-opt", "go-nsq Config option for the consumer, as key,value (repeatable; see https://pkg.go.dev/github.com/nsqio/go-nsq#Config)")
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	if *showVersion {
		fmt.Fprintln(stdout, nsqtool.VersionLine(tool))
		return 0
	}
	customHeaders, err := parseCustomHeaders(headers)
	if err != nil {
		return nsqtool.Failf(l, "--header value format should be 'key: value' - %s", err)
	}
	if *topic == "" || *channel == "" {
		return nsqtool.Failf(l, "--topic and --channel are required")
	}
	if *contentType != defaultContentType {
		if len(postAddrs) == 0 {
			return nsqtool.Failf(l, "--content-type only used with --post")
		}
		if *contentType == "" {
			return nsqtool.Failf(l, "--content-type requires a value when used")
		}
	}
	if err := nsqtool.CheckSources("nsqd-tcp-address", nsqdAddrs, lookupdAddrs); err != nil {
		return nsqtool.Failf(l, "%s", err)
	}
	switch {
	case len(getAddrs) == 0 && len(postAddrs) == 0:
		return nsqtool.Failf(l, "--get or --post required")
	case len(getAddrs) > 0 && len(postAddrs) > 0:
		return nsqtool.Failf(l, "use --get or --post not both")
	}
	for _, g := range getAddrs {
		if strings.Count(g, "%s") != 1 {
			return nsqtool.Failf(l, "invalid GET address - must be a printf string")
		}
	}
	if *sample > 1.0 || *sample < 0.0 {
		return nsqtool.Failf(l, "ERROR: --sample must be between 0.0 and 1.0")
	}
	if *publishers < 1 {
		return nsqtool.Failf(l, "--n should be positive")
	}

	s := &sender{
		client:      nsqtool.NewHTTPClient(*connectTimeout, *requestTimeout),
		headers:     customHeaders,
		contentType: *contentType,
		userAgent:   "nsq_to_http v" + nsqtool.Version,
	}
	h := &handler{
		send:      s.post,
		addresses: postAddrs,
		sample:    *sample,
		total:     nsqtool.NewTimerMetrics(l, *statusEvery, "[aggregate]:"),
		perAddr:   map[string]*nsqtool.TimerMetrics{},
	}
	if len(getAddrs) > 0 {
		h.send, h.addresses = s.get, getAddrs
	}
	switch *mode {
	case "round-robin":
		h.mode = modeRoundRobin
	case "hostpool":
		h.mode, h.pool = modeHostPool, nsqtool.NewHostPool(h.addresses)
	case "epsilon-greedy":
		h.mode, h.pool = modeHostPool, nsqtool.NewEpsilonGreedyPool(h.addresses)
	}
	if len(h.addresses) == 1 {
		h.perAddr[h.addresses[0]] = nsqtool.NewTimerMetrics(l, 0, "")
	} else {
		for _, a := range h.addresses {
			h.perAddr[a] = nsqtool.NewTimerMetrics(l, *statusEvery, fmt.Sprintf("[%s]:", a))
		}
	}

	cfg.UserAgent = nsqtool.UserAgent(tool)
	cfg.MaxInFlight = *maxInFlight
	c, err := nsqtool.StartConsumer(*topic, *channel, cfg, l, h, *publishers, nsqtool.Sources{NSQD: nsqdAddrs, Lookupd: lookupdAddrs})
	if err != nil {
		return nsqtool.Failf(l, "%s", err)
	}
	<-sigs
	nsqtool.StopConsumers([]*nsq.Consumer{c})
	return 0
}

// parseCustomHeaders parses each "Name: value" of --header; both sides
// are trimmed and must not be empty.
func parseCustomHeaders(specs []string) (map[string]string, error) {
	headers := map[string]string{}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("invalid header: %q", s)
		}
		headers[k] = v
	}
	return headers, nil
}

// handler sends each message to the endpoints its mode picks. Safe for
// concurrent use by the consumer's handler goroutines.
type handler struct {
	send      func(addr string, body []byte) error
	addresses []string
	mode      int
	pool      *nsqtool.HostPool
	sample    float64
	counter   atomic.Uint64

	total   *nsqtool.TimerMetrics
	perAddr map[string]*nsqtool.TimerMetrics
}

// HandleMessage sends m. An error requeues it (with backoff), to be sent
// again to every endpoint its mode picks then.
func (h *handler) HandleMessage(m *nsq.Message) error {
	if h.sample < 1.0 && rand.Float64() > h.sample {
		return nil
	}
	start := time.Now()
	switch h.mode {
	case modeAll:
		for _, addr := range h.addresses {
			st := time.Now()
			if err := h.send(addr, m.Body); err != nil {
				return err
			}
			h.perAddr[addr].Status(st)
		}
	case modeRoundRobin:
		addr := h.addresses[h.counter.Add(1)%uint64(len(h.addresses))]
		if err := h.send(addr, m.Body); err != nil {
			return err
		}
		h.perAddr[addr].Status(start)
	case modeHostPool:
		pick := h.pool.Get()
		err := h.send(pick.Host(), m.Body)
		pick.Mark(err)
		if err != nil {
			return err
		}
		h.perAddr[pick.Host()].Status(start)
	}
	h.total.Status(start)
	return nil
}

// sender makes the requests.
type sender struct {
	client      *http.Client
	headers     map[string]string
	contentType string
	userAgent   string
}

func (s *sender) do(req *http.Request) (status int, err error) {
	req.Header.Set("User-Agent", s.userAgent)
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// post POSTs body to addr; any 2xx answer is a success.
func (s *sender) post(addr string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, addr, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", s.contentType)
	status, err := s.do(req)
	if err != nil {
		return err
	}
	if status < 200 || status >= 300 {
		return fmt.Errorf("got status code %d", status)
	}
	return nil
}

// get GETs addr with its %s replaced by body, URL-escaped; only a 200
// answer is a success.
func (s *sender) get(addr string, body []byte) error {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf(addr, url.QueryEscape(string(body))), nil)
	if err != nil {
		return err
	}
	status, err := s.do(req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("got status code %d", status)
	}
	return nil
}
