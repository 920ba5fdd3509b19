// Command nsq_to_file writes the messages of topics to files, one per
// line, as NSQ v1.3.0's nsq_to_file does: the same flags and defaults,
// filenames, gzip, rotation by size, time and filename, work and output
// directories, and topic discovery through nsqlookupd. SIGHUP closes the
// open files (for log rotation tools); SIGINT and SIGTERM stop it.
package main

import (
	"os"
	"syscall"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

func main() {
	nsqtool.Main(func(sigs <-chan os.Signal) int { return run(os.Args[1:], os.Stdout, os.Stderr, sigs) }, syscall.SIGHUP)
}
