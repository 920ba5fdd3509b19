// Package broker starts, restarts and stops an nsqd binary (ours or any
// other, such as upstream's) on 127.0.0.1 with free ports and a fresh data
// path, and talks to a broker's HTTP API (ping, stats, free memory,
// profiles). Target is what a scenario needs from a broker, whether this
// package started it or it was given by address.
package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Target is the broker a scenario runs against. Implementations are safe
// for concurrent use.
type Target interface {
	// TCPAddr is the V2 protocol address.
	TCPAddr() string
	// HTTPAddr is the HTTP API address, "" when there is none.
	HTTPAddr() string
	// PID is the broker's process ID on this machine, 0 when unknown.
	PID() int
	// CanRestart reports whether Restart can work.
	CanRestart() bool
	// Restart stops the broker (SIGKILL when kill, else SIGTERM and a
	// graceful exit) and starts it again on the same data path and
	// addresses. It returns ErrCannotRestart when the target cannot.
	Restart(ctx context.Context, kill bool) (Restart, error)
}

// Restart is how long a restart took.
type Restart struct {
	Stop  time.Duration // from the signal to the process's exit
	Start time.Duration // from exec to answering /ping and accepting TCP
}

// ErrCannotRestart is returned by Restart for a broker this process does
// not control.
var ErrCannotRestart = errors.New("broker: this broker cannot be restarted from here")

// Remote is a broker given by address. It cannot be restarted.
type Remote struct {
	TCP, HTTP string
}

func (r Remote) TCPAddr() string  { return r.TCP }
func (r Remote) HTTPAddr() string { return r.HTTP }
func (r Remote) PID() int         { return 0 }
func (r Remote) CanRestart() bool { return false }
func (r Remote) Restart(context.Context, bool) (Restart, error) {
	return Restart{}, ErrCannotRestart
}

// Options configures Start.
type Options struct {
	// Binary is the nsqd to run. Required.
	Binary string
	// DataDir is where the fresh data path is created (a new directory
	// inside it, removed by Stop). Default: the system's temp directory.
	DataDir string
	// MemQueueSize, if positive, is passed as --mem-queue-size.
	MemQueueSize int64
	// Args are more flags, passed after the generated ones.
	Args []string
	// Log receives the broker's stdout and stderr. Nil discards them.
	Log io.Writer
	// StartTimeout bounds each start (until /ping answers). Default 60s.
	StartTimeout time.Duration
	// StopTimeout bounds a graceful stop before SIGKILL. Default 120s
	// (upstream writes its memory queues to disk on exit).
	StopTimeout time.Duration
}

// Process is a broker binary this package started. Its methods are safe
// for concurrent use, but Restart and Stop must not overlap.
type Process struct {
	o        Options
	tcp      string
	http     string
	dataPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Start runs o.Binary with --tcp-address and --http-address on free
// 127.0.0.1 ports and --data-path on a new directory, and waits until it
// answers /ping.
func Start(ctx context.Context, o Options) (*Process, error) {
	if o.Binary == "" {
		return nil, errors.New("broker: no binary")
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 120 * time.Second
	}
	dir, err := os.MkdirTemp(o.DataDir, "nsqd-data-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &Process{
		o:        o,
		tcp:      "127.0.0.1:" + strconv.Itoa(ports[0]),
		http:     "127.0.0.1:" + strconv.Itoa(ports[1]),
		dataPath: dir,
	}
	if _, err := p.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// Args are the flags the broker runs with.
func (p *Process) Args() []string {
	args := []string{
		"--tcp-address=" + p.tcp,
		"--http-address=" + p.http,
		"--data-path=" + p.dataPath,
	}
	if p.o.MemQueueSize > 0 {
		args = append(args, "--mem-queue-size="+strconv.FormatInt(p.o.MemQueueSize, 10))
	}
	return append(args, p.o.Args...)
}

func (p *Process) TCPAddr() string  { return p.tcp }
func (p *Process) CanRestart() bool { return true }
func (p *Process) HTTPAddr() string { return p.http }

// DataPath is the broker's data directory.
func (p *Process) DataPath() string { return p.dataPath }

// PID is the running process's ID.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *Process) start(ctx context.Context) (time.Duration, error) {
	cmd := exec.Command(p.o.Binary, p.Args()...)
	cmd.Stdout, cmd.Stderr = p.o.Log, p.o.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	ctx, cancel := context.WithTimeout(ctx, p.o.StartTimeout)
	defer cancel()
	for {
		if Ping(ctx, p.http) == nil && canDial(p.tcp) {
			return time.Since(began), nil
		}
		select {
		case <-exited:
			p.mu.Lock()
			err := p.waitErr
			p.mu.Unlock()
			return 0, fmt.Errorf("broker: %s exited at start-up: %v", p.o.Binary, err)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return 0, fmt.Errorf("broker: %s did not answer /ping within %v", p.o.Binary, p.o.StartTimeout)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop signals the process and waits for its exit, killing it after
// StopTimeout.
func (p *Process) stop(kill bool) (time.Duration, error) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return 0, nil
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	began := time.Now()
	select {
	case <-exited:
		return 0, nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil {
		return 0, err
	}
	select {
	case <-exited:
	case <-time.After(p.o.StopTimeout):
		_ = cmd.Process.Kill()
		<-exited
		return time.Since(began), fmt.Errorf("broker: %s did not exit within %v of SIGTERM; killed", p.o.Binary, p.o.StopTimeout)
	}
	return time.Since(began), nil
}

// Restart implements Target.
func (p *Process) Restart(ctx context.Context, kill bool) (Restart, error) {
	var r Restart
	var err error
	if r.Stop, err = p.stop(kill); err != nil {
		return r, err
	}
	r.Start, err = p.start(ctx)
	return r, err
}

// Stop stops the broker gracefully (SIGTERM) and removes its data path.
func (p *Process) Stop() error {
	_, err := p.stop(false)
	if rerr := os.RemoveAll(p.dataPath); err == nil {
		err = rerr
	}
	return err
}

// Version runs binary --version and returns its first line.
func Version(binary string) string {
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

func canDial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
