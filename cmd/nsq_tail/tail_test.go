package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

func start(t *testing.T, args ...string) *tooltest.Run {
	t.Helper()
	return tooltest.StartTool(t, run, args...)
}

// With -n, nsq_tail prints exactly n messages and exits by itself; the
// messages it did not print stay in a named channel.
func TestTailCountExits(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, http := n.TCPAddr().String(), n.HTTPAddr().String()
	tooltest.CreateChannel(t, http, "events", "tail")
	bodies := tooltest.Bodies("event-", 1000)
	tooltest.Publish(t, tcp, "events", bodies)

	r := start(t, "--nsqd-tcp-address="+tcp, "--topic=events", "--channel=tail", "--n=600", "--max-in-flight=50")
	if code := r.Wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr)
	}
	lines := r.Stdout.Lines()
	if len(lines) != 600 {
		t.Fatalf("printed %d lines, want 600", len(lines))
	}
	if !slices.EqualFunc(lines, bodies[:600], func(l string, b []byte) bool { return l == string(b) }) {
		t.Fatalf("lines are not the first 600 messages in order: %q ...", lines[:5])
	}
	// The 400 not printed are back in the channel (none lost, none
	// finished unprinted).
	tooltest.WaitFor(t, "400 left in the channel", func() bool {
		c, ok := tooltest.Channel(t, http, "events", "tail")
		return ok && c.Depth == 400 && c.InFlightCount == 0 && c.ClientCount == 0
	})
}

// Several topics through nsqlookupd, with --print-topic; a signal stops
// it.
func TestTailTopicsFromLookupd(t *testing.T) {
	l := tooltest.StartLookupd(t)
	n := tooltest.StartNSQD(t, l.TCPAddr().String())
	tcp := n.TCPAddr().String()
	tooltest.Publish(t, tcp, "a", tooltest.Bodies("a", 50))
	tooltest.Publish(t, tcp, "b", tooltest.Bodies("b", 70))
	tooltest.WaitFor(t, "both topics registered", func() bool {
		lh := l.HTTPAddr().String()
		return tooltest.Producers(t, lh, "a") == 1 && tooltest.Producers(t, lh, "b") == 1
	})

	r := start(t, "--lookupd-http-address="+l.HTTPAddr().String(), "--topic=a", "--topic=b", "--print-topic")
	tooltest.WaitFor(t, "120 lines", func() bool { return len(r.Stdout.Lines()) >= 120 })
	r.Stop(t)
	lines := r.Stdout.Lines()
	if len(lines) != 120 {
		t.Fatalf("%d lines, want 120", len(lines))
	}
	var want []string
	for _, b := range tooltest.Bodies("a", 50) {
		want = append(want, "a | "+string(b))
	}
	for _, b := range tooltest.Bodies("b", 70) {
		want = append(want, "b | "+string(b))
	}
	slices.Sort(lines)
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Fatalf("lines differ:\n%q\nwant\n%q", lines, want)
	}
	// The default channel is ephemeral: tailNNNNNN#ephemeral.
	s := tooltest.Stats(t, n.HTTPAddr().String())
	for _, tp := range s.Topics {
		for _, ch := range tp.Channels {
			if !strings.HasPrefix(ch.ChannelName, "tail") || !strings.HasSuffix(ch.ChannelName, "#ephemeral") || len(ch.ChannelName) != len("tail000000#ephemeral") {
				t.Errorf("channel %q", ch.ChannelName)
			}
		}
	}
}

func TestTailCommandLine(t *testing.T) {
	tooltest.CommandLines(t, func(a ...string) *tooltest.Run { return start(t, a...) }, []tooltest.Case{
		{Args: []string{"--version"}, Code: 0, Stdout: "nsq_tail v1.3.0\n"},
		{Args: []string{"--topic=t"}, Code: 1, Stderr: "--nsqd-tcp-address or --lookupd-http-address required"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1", "--lookupd-http-address=b:2"}, Code: 1, Stderr: "use --nsqd-tcp-address or --lookupd-http-address not both"},
		{Args: []string{"--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--topic required"},
		{Args: []string{"--consumer-opt=nope,1"}, Code: 2, Stderr: "invalid value"},
		{Args: []string{"--bogus"}, Code: 2, Stderr: "flag provided but not defined"},
		{Args: []string{"-h"}, Code: 0, Stderr: "-print-topic"},
	})
}
