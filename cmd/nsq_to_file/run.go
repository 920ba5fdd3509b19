package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/admin/cluster"
	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

const tool = "nsq_to_file"

// run is main without the process: it returns the exit status. It writes
// until SIGINT or SIGTERM arrives on sigs (0) or writing fails (1); SIGHUP
// closes the open files.
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	opts := NewOptions()
	var showVersion bool
	fs := newFlagSet(opts, &showVersion, stderr)
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	l := nsqtool.NewLogger(stderr)
	if rest := fs.Args(); len(rest) > 0 {
		return nsqtool.Failf(l, "unknown arguments: %s", rest)
	}
	level, err := parseLogLevel(opts.LogLevel)
	if err != nil {
		return nsqtool.Failf(l, "--log-level is invalid")
	}
	if showVersion {
		fmt.Fprintln(stdout, nsqtool.VersionLine(tool))
		return 0
	}
	if msg := validate(opts); msg != "" {
		return nsqtool.Failf(l, "%s", msg)
	}
	var pattern *regexp.Regexp
	if opts.TopicPattern != "" {
		if pattern, err = regexp.Compile(opts.TopicPattern); err != nil {
			return nsqtool.Failf(l, "--topic-pattern is invalid: %s", err)
		}
	}
	hostname, err := os.Hostname()
	if err != nil {
		return nsqtool.Failf(l, "%s", err)
	}
	// The topic does not matter to whether the format is valid.
	if _, err := filenameFormat(opts, "topic", hostname, os.Getpid()); err != nil {
		return nsqtool.Failf(l, "%s", err)
	}

	cfg := nsq.NewConfig()
	flag := nsqtool.ConfigFlag(cfg)
	for _, o := range opts.ConsumerOpts {
		if err := flag.Set(o); err != nil {
			return nsqtool.Failf(l, "invalid --consumer-opt %q: %s", o, err)
		}
	}
	cfg.UserAgent = nsqtool.UserAgent(tool)
	cfg.MaxInFlight = opts.MaxInFlight

	d := &discoverer{
		opts:     opts,
		cfg:      cfg,
		logf:     newLogFunc(stderr, opts.LogPrefix, level),
		nsqLog:   l,
		ci:       nsqtool.NewCluster(opts.HTTPClientConnectTimeout, opts.HTTPClientRequestTimeout),
		pattern:  pattern,
		hostname: hostname,
		now:      time.Now,
		loggers:  map[string]*topicLogger{},
		failed:   make(chan error, 1),
	}
	return d.run(sigs)
}

// validate checks opts as upstream does, in its order, and fills in the
// work directory; it returns what is wrong, or "".
func validate(opts *Options) string {
	switch {
	case opts.Channel == "":
		return "--channel is required"
	case opts.HTTPClientConnectTimeout <= 0:
		return "--http-client-connect-timeout should be positive"
	case opts.HTTPClientRequestTimeout <= 0:
		return "--http-client-request-timeout should be positive"
	}
	if err := nsqtool.CheckSources("nsqd-tcp-address", opts.NSQDTCPAddrs, opts.NSQLookupdHTTPAddrs); err != nil {
		return err.Error()
	}
	switch {
	case opts.GZIPLevel < 1 || opts.GZIPLevel > 9:
		return fmt.Sprintf("invalid --gzip-level value (%d), should be 1-9", opts.GZIPLevel)
	case len(opts.Topics) == 0 && opts.TopicPattern == "":
		return "--topic or --topic-pattern required"
	case len(opts.Topics) == 0 && len(opts.NSQLookupdHTTPAddrs) == 0:
		return "--lookupd-http-address must be specified when no --topic specified"
	case opts.SyncInterval <= 0:
		return "--sync-interval should be positive"
	case len(opts.Topics) == 0 && opts.TopicRefreshInterval <= 0:
		return "--topic-refresh should be positive"
	}
	if opts.WorkDir == "" {
		opts.WorkDir = opts.OutputDir
	}
	return ""
}

// discoverer runs a topicLogger per topic: those given, or every topic
// nsqlookupd knows (asked at once, then every --topic-refresh), that
// matches --topic-pattern.
type discoverer struct {
	opts     *Options
	cfg      *nsq.Config
	logf     logFunc
	nsqLog   *log.Logger // go-nsq's
	ci       *cluster.Cluster
	pattern  *regexp.Regexp
	hostname string
	now      func() time.Time

	loggers map[string]*topicLogger // owned by run's goroutine
	wg      sync.WaitGroup
	failed  chan error // the first fatal error of a router
}

func (d *discoverer) run(sigs <-chan os.Signal) int {
	var tick <-chan time.Time
	if len(d.opts.Topics) == 0 {
		t := time.NewTicker(d.opts.TopicRefreshInterval)
		defer t.Stop()
		tick = t.C
		d.refresh()
	} else {
		d.add(d.opts.Topics)
	}
	for {
		select {
		case <-tick:
			d.refresh()
		case s := <-sigs:
			if s == syscall.SIGHUP {
				for _, t := range d.loggers {
					t.closeFile()
				}
				continue
			}
			return d.stop(0)
		case err := <-d.failed:
			d.logf(levelFatal, "%s", err)
			return d.stop(1)
		}
	}
}

// stop stops every topic and waits for them; the status is code, or 1
// when a topic failed meanwhile.
func (d *discoverer) stop(code int) int {
	for _, t := range d.loggers {
		close(t.term)
	}
	d.wg.Wait()
	select {
	case err := <-d.failed:
		d.logf(levelFatal, "%s", err)
		return 1
	default:
		return code
	}
}

func (d *discoverer) refresh() {
	topics, err := d.ci.LookupdTopics(context.Background(), d.opts.NSQLookupdHTTPAddrs)
	if err != nil {
		d.logf(levelError, "could not retrieve topic list: %s", err)
		return
	}
	d.add(topics)
}

// add starts a logger for each topic that has none and matches the
// pattern.
func (d *discoverer) add(topics []string) {
	for _, topic := range topics {
		if _, ok := d.loggers[topic]; ok {
			continue
		}
		if d.pattern != nil && !d.pattern.MatchString(topic) {
			d.logf(levelWarn, "skipping topic %s (doesn't match pattern %s)", topic, d.opts.TopicPattern)
			continue
		}
		t, err := d.newTopicLogger(topic)
		if err != nil {
			d.logf(levelError, "couldn't create logger for new topic %s: %s", topic, err)
			continue
		}
		d.loggers[topic] = t
		d.wg.Go(func() {
			if err := t.router(); err != nil {
				select {
				case d.failed <- err:
				default:
				}
			}
		})
	}
}

func (d *discoverer) newTopicLogger(topic string) (*topicLogger, error) {
	format, err := filenameFormat(d.opts, topic, d.hostname, os.Getpid())
	if err != nil {
		return nil, err
	}
	t := &topicLogger{
		topic: topic,
		opts:  d.opts,
		logf:  d.logf,
		out: &outFile{
			opts:   d.opts,
			format: format,
			tag:    fmt.Sprintf("[%s/%s]", topic, d.opts.Channel),
			logf:   d.logf,
			now:    d.now,
		},
		msgs: make(chan *nsq.Message),
		hup:  make(chan struct{}, 1),
		term: make(chan struct{}),
		dead: make(chan struct{}),
	}
	src := nsqtool.Sources{NSQD: d.opts.NSQDTCPAddrs, Lookupd: d.opts.NSQLookupdHTTPAddrs}
	t.consumer, err = nsqtool.StartConsumer(topic, d.opts.Channel, d.cfg, d.nsqLog, t, 1, src)
	if err != nil {
		return nil, err
	}
	return t, nil
}
