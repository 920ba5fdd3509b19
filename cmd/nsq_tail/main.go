// Command nsq_tail prints the messages of one or more topics to stdout,
// one per line, as NSQ v1.3.0's nsq_tail does: same flags, same defaults,
// same output.
package main

import (
	"os"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

func main() {
	nsqtool.Main(func(sigs <-chan os.Signal) int { return run(os.Args[1:], os.Stdout, os.Stderr, sigs) })
}
