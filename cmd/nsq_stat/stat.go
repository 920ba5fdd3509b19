package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nsqfast/nsq/admin/cluster"
	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

const tool = "nsq_stat"

// countFlag is --count: whether it was given, and its value.
type countFlag struct {
	set bool
	n   int
}

func (c *countFlag) String() string { return "N" }

func (c *countFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return err
	}
	c.n, c.set = int(n), true
	return nil
}

// run is main without the process: it returns the exit status after
// --count reports (0), a failed query (1) or a signal on sigs (0).
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	l := nsqtool.NewLogger(stderr)
	var (
		nsqdAddrs, lookupdAddrs nsqtool.StringArray
		count                   countFlag
	)
	fs := nsqtool.NewFlagSet(tool, stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	topic := fs.String("topic", "", "topic of the channel")
	channel := fs.String("channel", "", "channel to report on")
	interval := fs.Duration("interval", 2*time.Second, "time between reports")
	connectTimeout := fs.Duration("http-client-connect-timeout", 2*time.Second, "how long connecting to an HTTP API may take")
	requestTimeout := fs.Duration("http-client-request-timeout", 5*time.Second, "how long an HTTP request may take")
	fs.Var(&nsqdAddrs, "nsqd-http-address", "nsqd HTTP address to query (repeatable)")
	fs.Var(&lookupdAddrs, "lookupd-http-address", "nsqlookupd HTTP address to find nsqd with (repeatable)")
	fs.Var(&count, "count", "exit after this many reports (default: never)")
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	if *showVersion {
		fmt.Fprintln(stdout, nsqtool.VersionLine(tool))
		return 0
	}
	switch {
	case *topic == "" || *channel == "":
		return nsqtool.Failf(l, "--topic and --channel are required")
	case *interval <= 0:
		return nsqtool.Failf(l, "--interval should be positive")
	case *connectTimeout <= 0:
		return nsqtool.Failf(l, "--http-client-connect-timeout should be positive")
	case *requestTimeout <= 0:
		return nsqtool.Failf(l, "--http-client-request-timeout should be positive")
	case count.set && count.n <= 0:
		return nsqtool.Failf(l, "--count should be positive")
	}
	if err := nsqtool.CheckSources("nsqd-http-address", nsqdAddrs, lookupdAddrs); err != nil {
		return nsqtool.Failf(l, "%s", err)
	}
	if err := checkAddrs(nsqdAddrs); err != nil {
		return nsqtool.Failf(l, "--nsqd-http-address error - %s", err)
	}
	if err := checkAddrs(lookupdAddrs); err != nil {
		return nsqtool.Failf(l, "--lookupd-http-address error - %s", err)
	}

	s := &statter{
		ci:      nsqtool.NewCluster(*connectTimeout, *requestTimeout),
		l:       l,
		w:       stdout,
		topic:   *topic,
		channel: *channel,
		nsqd:    nsqdAddrs,
		lookupd: lookupdAddrs,
	}
	reports := -1
	if count.set {
		reports = count.n
	}
	stop := make(chan struct{})
	result := make(chan int, 1)
	go func() { result <- s.loop(*interval, reports, stop) }()
	select {
	case <-sigs:
		close(stop)
		return 0
	case code := <-result:
		return code
	}
}

// checkAddrs refuses addresses given as URLs.
func checkAddrs(addrs []string) error {
	for _, a := range addrs {
		if strings.HasPrefix(a, "http") {
			return errors.New("address should not contain scheme")
		}
	}
	return nil
}

// statter queries the channel's figures and prints the reports.
type statter struct {
	ci             *cluster.Cluster
	l              *log.Logger
	w              io.Writer
	topic, channel string
	nsqd, lookupd  []string
}

// loop samples the channel every interval and prints a report of each
// interval (reports of them; -1 for no end), with the column headers
// before the first and every 25 samples. It returns the exit status.
func (s *statter) loop(interval time.Duration, reports int, stop <-chan struct{}) int {
	var prev *cluster.ChannelStats
	for i := 0; reports < 0 || i <= reports; i++ {
		cur, err := s.sample()
		if err != nil {
			return nsqtool.Failf(s.l, "ERROR: %s", err)
		}
		if i%25 == 0 {
			printHeader(s.w)
		}
		if prev != nil {
			printRow(s.w, prev, cur, interval)
		}
		prev = cur
		if i == reports {
			break
		}
		t := time.NewTimer(interval)
		select {
		case <-stop:
			t.Stop()
			return 0
		case <-t.C:
		}
	}
	return 0
}

// sample is the channel's current figures summed over every nsqd with the
// topic. As upstream, a query that fails on any nsqd or nsqlookupd is an
// error.
func (s *statter) sample() (*cluster.ChannelStats, error) {
	ctx := context.Background()
	var (
		producers cluster.Producers
		err       error
	)
	if len(s.lookupd) > 0 {
		producers, err = s.ci.LookupdTopicProducers(ctx, s.topic, s.lookupd)
	} else {
		producers, err = s.ci.NSQDTopicProducers(ctx, s.topic, s.nsqd)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get topic producers - %w", err)
	}
	if len(producers) == 0 {
		return nil, fmt.Errorf("failed to get nsqd stats - failed to query any nsqd: no nsqd has topic(%s)", s.topic)
	}
	_, channels, err := s.ci.NSQDStats(ctx, producers, s.topic, s.channel, false)
	if err != nil {
		return nil, fmt.Errorf("failed to get nsqd stats - %w", err)
	}
	c, ok := channels[s.channel]
	if !ok {
		return nil, fmt.Errorf("failed to find channel(%s) in stats metadata for topic(%s)", s.channel, s.topic)
	}
	return c, nil
}

// The report's layout: rates over the interval, then depths, then counts.
const (
	headerGroups = "------rate------+----------------depth----------------+--------------metadata---------------\n"
	headerFormat = "%7s %7s | %7s %7s %7s %5s %5s | %7s %7s %12s %7s\n"
	rowFormat    = "%7d %7d | %7d %7d %7d %5d %5d | %7d %7d %12d %7d\n"
)

func printHeader(w io.Writer) {
	io.WriteString(w, headerGroups)
	fmt.Fprintf(w, headerFormat, "ingress", "egress", "total", "mem", "disk", "inflt", "def", "req", "t-o", "msgs", "clients")
}

// printRow prints the interval from prev to cur: messages in and out a
// second (out: what came in less what the depth grew by), then cur's
// figures.
func printRow(w io.Writer, prev, cur *cluster.ChannelStats, interval time.Duration) {
	in := cur.MessageCount - prev.MessageCount
	out := in - (cur.Depth - prev.Depth)
	secs := interval.Seconds()
	fmt.Fprintf(w, rowFormat,
		int64(float64(in)/secs), int64(float64(out)/secs),
		cur.Depth, cur.MemoryDepth, cur.BackendDepth, cur.InFlightCount, cur.DeferredCount,
		cur.RequeueCount, cur.TimeoutCount, cur.MessageCount, cur.ClientCount)
}
