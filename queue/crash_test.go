package queue

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const kill9Env = "QUEUE_KILL9_DIR"

var kill9Opts = Options{SegmentSize: 64 << 10, PrefaultBytes: 16 << 10}

// kill9Child appends records forever, committing each and printing its seq
// once committed; Sync every 1000 records exercises trailers too.
func kill9Child(dir string) {
	l, err := Open(dir, kill9Opts)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for seq := l.Head().Seq; seq < 1<<24; seq++ {
		p := testPayload(seq)
		if _, err := l.Append(p[:len(p)/2], p[len(p)/2:]); err != nil {
			fmt.Fprintln(out, "error", err)
			out.Flush()
			os.Exit(2)
		}
		l.Commit()
		fmt.Fprintln(out, "seq", seq)
		if seq%64 == 0 {
			out.Flush()
		}
		if seq%1000 == 0 {
			if err := l.Sync(); err != nil {
				fmt.Fprintln(out, "error", err)
				out.Flush()
				os.Exit(2)
			}
		}
	}
	out.Flush()
	os.Exit(0)
}

// TestKill9 re-executes the test binary as a child that appends and commits
// records, kills it with SIGKILL at a random moment and checks that every
// record whose commit the child reported is present and intact, three times
// over the same directory.
func TestKill9(t *testing.T) {
	if dir := os.Getenv(kill9Env); dir != "" {
		kill9Child(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		last := runAndKill(t, dir, 5000+round*7919)
		l, err := Open(dir, kill9Opts)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		h := l.Head()
		if h.Seq <= last {
			t.Fatalf("round %d: head %d, but the child committed %d", round, h.Seq, last)
		}
		p := l.First()
		for seq := uint64(0); seq < h.Seq; seq++ {
			r, err := l.Read(p)
			if err != nil {
				t.Fatalf("round %d: read %d: %v", round, seq, err)
			}
			checkRecord(t, r, seq)
			p = r.Next
		}
		t.Logf("round %d: child committed up to %d, recovered head %d, %d segments", round, last, h.Seq, len(l.table.Load().segs))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runAndKill runs the child until it has reported at least n records, kills
// it and returns the last seq it reported.
func runAndKill(t *testing.T, dir string, n int) uint64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), kill9Env+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(120*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	sc := bufio.NewScanner(stdout)
	var last uint64
	seen, killed := 0, false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		v, ok := strings.CutPrefix(line, "seq ")
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("child said %q", line)
		}
		last = seq
		if seen++; seen >= n && !killed {
			// Everything printed after this was committed before the kill,
			// so it still counts: keep reading until EOF.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited early: %v", err)
	}
	return last
}
