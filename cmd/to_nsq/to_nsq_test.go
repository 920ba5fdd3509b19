package main

import (
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

func start(t *testing.T, stdin io.Reader, args ...string) *tooltest.Run {
	t.Helper()
	return tooltest.Start(t, func(_, stderr io.Writer, sigs <-chan os.Signal) int {
		return run(args, stdin, stderr, sigs)
	})
}

// Every line is published, to every nsqd given, in order; empty lines
// are skipped; the last line needs no newline.
func TestPublishLines(t *testing.T) {
	a, b := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	var want []string
	var in strings.Builder
	for i := range 1000 {
		line := strings.Repeat("x", i%50) + "-" + string(rune('a'+i%26))
		want = append(want, line)
		in.WriteString(line + "\n")
		if i%100 == 0 {
			in.WriteString("\n") // skipped
		}
	}
	in.WriteString("last-without-newline")
	want = append(want, "last-without-newline")
	// A message longer than the read buffer.
	long := strings.Repeat("L", 100000)
	in.WriteString("\n" + long + "\n")
	want = append(want, long)

	ca := tooltest.Consume(t, a.TCPAddr().String(), "lines", "c")
	cb := tooltest.Consume(t, b.TCPAddr().String(), "lines", "c")
	r := start(t, strings.NewReader(in.String()), "--topic=lines", "--nsqd-tcp-address="+a.TCPAddr().String(), "--nsqd-tcp-address="+b.TCPAddr().String())
	if code := r.Wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr)
	}
	for name, c := range map[string]*tooltest.Consumer{"a": ca, "b": cb} {
		tooltest.WaitFor(t, "every message on "+name, func() bool { return c.Len() >= len(want) })
		if got := c.Bodies(); !slices.Equal(got, want) {
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("nsqd %s: message %d is %.40q, want %.40q", name, i, got[i], want[i])
				}
			}
			t.Fatalf("nsqd %s: %d messages, want %d", name, len(got), len(want))
		}
	}
	// Exactly: nothing more arrives.
	for _, n := range []string{a.HTTPAddr().String(), b.HTTPAddr().String()} {
		tooltest.WaitFor(t, "drained", func() bool { return tooltest.Drained(t, n, "lines", "c", uint64(len(want))) })
		if c, _ := tooltest.Channel(t, n, "lines", "c"); c.MessageCount != uint64(len(want)) {
			t.Fatalf("message_count %d, want %d", c.MessageCount, len(want))
		}
	}
}

func TestDelimiterAndRate(t *testing.T) {
	n := tooltest.StartNSQD(t)
	c := tooltest.Consume(t, n.TCPAddr().String(), "csv", "c")
	begin := time.Now()
	r := start(t, strings.NewReader("one,two,,three,four,five,six,seven,eight,nine,ten,"),
		"--topic=csv", "--delimiter=,", "--rate=20", "--nsqd-tcp-address="+n.TCPAddr().String())
	if code := r.Wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr)
	}
	// 10 messages at 20/s with a burst of one: at least 9 intervals.
	if d := time.Since(begin); d < 9*50*time.Millisecond {
		t.Errorf("took %v at --rate=20", d)
	}
	tooltest.WaitFor(t, "10 messages", func() bool { return c.Len() >= 10 })
	want := []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	if got := c.Bodies(); !slices.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	if !strings.Contains(r.Stderr.String(), "Throttling messages rate to max:20/second") {
		t.Errorf("stderr: %s", r.Stderr)
	}
}

// A signal stops it while stdin is still open.
func TestSignalStops(t *testing.T) {
	n := tooltest.StartNSQD(t)
	c := tooltest.Consume(t, n.TCPAddr().String(), "t", "c")
	pr, pw := io.Pipe()
	defer pw.Close()
	r := start(t, pr, "--topic=t", "--nsqd-tcp-address="+n.TCPAddr().String())
	io.WriteString(pw, "hello\n")
	tooltest.WaitFor(t, "hello", func() bool { return c.Len() == 1 })
	r.Stop(t)
}

func TestCommandLine(t *testing.T) {
	tooltest.CommandLines(t, func(a ...string) *tooltest.Run { return start(t, strings.NewReader(""), a...) }, []tooltest.Case{
		{Args: []string{"--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--topic required"},
		{Args: []string{"--topic=t", "--delimiter=ab", "--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--delimiter must be a single byte"},
		{Args: []string{"--topic=t"}, Code: 1, Stderr: "--nsqd-tcp-address required"},
		{Args: []string{"--topic=t", "--producer-opt=bogus,1"}, Code: 2, Stderr: "invalid value"},
		{Args: []string{"--version"}, Code: 2, Stderr: "flag provided but not defined: -version"},
		{Args: []string{"-h"}, Code: 0, Stderr: "-rate"},
	})
}
