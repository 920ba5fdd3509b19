package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

var tools = []string{"nsq_tail", "to_nsq", "nsq_stat", "nsq_to_file", "nsq_to_http", "nsq_to_nsq"}

// ours is the directory of the binaries built from this repository.
var ours string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "nsq-tools-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, t := range tools {
		args = append(args, "github.com/nsqfast/nsq/cmd/"+t)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	ours = dir
	return m.Run()
}

// upstream is the path of upstream's binary of name, or "" when absent.
func upstream(name string) string {
	dir := os.Getenv("NSQ_UPSTREAM_DIR")
	if dir == "" {
		dir = "/tmp"
	}
	p := filepath.Join(dir, "upstream-"+name)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return ""
	}
	return p
}

func needUpstream(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if upstream(n) == "" {
			t.Skipf("no upstream %s binary in $NSQ_UPSTREAM_DIR (default /tmp): see the package documentation", n)
		}
	}
}

// proc is a running binary.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *tooltest.Buffer
	done           chan struct{}
	code           int
}

// run starts bin with args and stdin (may be nil); it is killed when the
// test ends if still running.
func run(t *testing.T, bin string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stdout: &tooltest.Buffer{}, stderr: &tooltest.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = stdin, p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// ourTool starts our binary of the tool.
func ourTool(t *testing.T, tool string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	return run(t, filepath.Join(ours, tool), stdin, args...)
}

func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(40 * time.Second):
		t.Fatalf("%s did not exit; stderr:\n%s", p.cmd.Path, p.stderr)
		return -1
	}
}

// mustExit waits for the process and fails unless it exits with 0.
func (p *proc) mustExit(t *testing.T) {
	t.Helper()
	if code := p.wait(t); code != 0 {
		t.Fatalf("%s exited %d; stderr:\n%s", filepath.Base(p.cmd.Path), code, p.stderr)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.mustExit(t)
}

// freePort is a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemon is an nsqd or nsqlookupd run from a binary.
type daemon struct {
	tcp, http string
}

// startUpstreamLookupd runs upstream's nsqlookupd.
func startUpstreamLookupd(t *testing.T) daemon {
	t.Helper()
	d := daemon{tcp: "127.0.0.1:" + strconv.Itoa(freePort(t)), http: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	p := run(t, upstream("nsqlookupd"), nil, "--tcp-address="+d.tcp, "--http-address="+d.http, "--broadcast-address=127.0.0.1")
	waitPing(t, d.http)
	t.Cleanup(func() { p.stop(t) })
	return d
}

// startUpstreamNSQD runs upstream's nsqd, registered with the given
// nsqlookupd TCP addresses.
func startUpstreamNSQD(t *testing.T, lookupds ...string) daemon {
	t.Helper()
	d := daemon{tcp: "127.0.0.1:" + strconv.Itoa(freePort(t)), http: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	args := []string{"--tcp-address=" + d.tcp, "--http-address=" + d.http, "--broadcast-address=127.0.0.1", "--data-path=" + t.TempDir()}
	for _, l := range lookupds {
		args = append(args, "--lookupd-tcp-address="+l)
	}
	p := run(t, upstream("nsqd"), nil, args...)
	waitPing(t, d.http)
	t.Cleanup(func() { p.stop(t) })
	return d
}

func waitPing(t *testing.T, httpAddr string) {
	t.Helper()
	tooltest.WaitFor(t, "ping "+httpAddr, func() bool {
		resp, err := http.Get("http://" + httpAddr + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// lines of several files' contents, sorted.
func lines(files map[string]string) []string {
	var out []string
	for _, c := range files {
		sc := bufio.NewScanner(strings.NewReader(c))
		for sc.Scan() {
			out = append(out, sc.Text())
		}
	}
	slices.Sort(out)
	return out
}
