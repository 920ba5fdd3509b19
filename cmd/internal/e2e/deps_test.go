package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// The utilities are clients: their binaries link none of the daemons'
// packages (engine, netpoll, lookup), only go-nsq and the HTTP API
// documents.
func TestNoDaemonImport(t *testing.T) {
	for _, tool := range tools {
		out, err := exec.Command("go", "list", "-deps", "github.com/nsqfast/nsq/cmd/"+tool).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", tool, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, banned := range []string{"/engine", "/netpoll", "/lookup", "/queue"} {
				if strings.HasPrefix(pkg, "github.com/nsqfast/nsq"+banned) {
					t.Errorf("%s imports %s", tool, pkg)
				}
			}
		}
	}
}
