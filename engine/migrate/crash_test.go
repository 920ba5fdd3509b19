package migrate

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// crashEnv makes the test binary a child that imports the data path named
// by crashDirEnv and kills itself (SIGKILL) at the step it names.
const (
	crashEnv    = "MIGRATE_CRASH_AT"
	crashDirEnv = "MIGRATE_CRASH_DIR"
)

func TestMain(m *testing.M) {
	if at := os.Getenv(crashEnv); at != "" {
		hook = func(step string) error {
			if step == at {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
			return nil
		}
		_, err := Import(os.Getenv(crashDirEnv), 4096, nil)
		fmt.Fprintln(os.Stderr, "child: import finished without reaching the crash point:", err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// importSteps returns the steps of a whole import of s, in order.
func importSteps(t *testing.T, s *scenario) []string {
	t.Helper()
	dir := s.write(t)
	var steps []string
	hook = func(step string) error { steps = append(steps, step); return nil }
	defer func() { hook = nil }()
	if _, err := Import(dir, 4096, nil); err != nil {
		t.Fatal(err)
	}
	if len(steps) < 10 {
		t.Fatalf("only %d steps: %q", len(steps), steps)
	}
	return steps
}

var errInjected = errors.New("injected failure")

// TestImportFailsHalfWay stops Import at every step in turn (as an error,
// without cleaning up), runs it again, and checks that every channel then
// delivers every message exactly once.
func TestImportFailsHalfWay(t *testing.T) {
	s := newScenario()
	for _, at := range importSteps(t, s) {
		t.Run(strings.ReplaceAll(at, " ", "_"), func(t *testing.T) {
			dir := s.write(t)
			hook = func(step string) error {
				if step == at {
					return errInjected
				}
				return nil
			}
			_, err := Import(dir, 4096, nil)
			hook = nil
			if !errors.Is(err, errInjected) {
				t.Fatalf("first Import = %v, want the injected failure", err)
			}
			rep, err := Import(dir, 4096, nil)
			if err != nil {
				t.Fatalf("second Import: %v", err)
			}
			s.check(t, dir)
			if at != "marked" && (!rep.Imported || rep.Messages != s.messages || rep.Topics != 5) {
				t.Errorf("report after resuming: %+v, want %d messages in 5 topics", rep, s.messages)
			}
		})
	}
}

// TestImportKilledHalfWay is TestImportFailsHalfWay with a real crash: a
// child process imports and is killed with SIGKILL at each step in turn.
func TestImportKilledHalfWay(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process per step")
	}
	s := newScenario()
	for _, at := range importSteps(t, s) {
		t.Run(strings.ReplaceAll(at, " ", "_"), func(t *testing.T) {
			dir := s.write(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashEnv+"="+at, crashDirEnv+"="+dir)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die of SIGKILL: %v\n%s", err, out)
			}
			if _, err := Import(dir, 4096, nil); err != nil {
				t.Fatalf("Import after the crash: %v", err)
			}
			s.check(t, dir)
		})
	}
}
