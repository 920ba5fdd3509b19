// Command nsq_to_nsq reads topics' channel and publishes every message to
// other nsqd, as NSQ v1.3.0's nsq_to_nsq does: under the same topic or
// --destination-topic, in turn (round-robin) or through a host pool,
// optionally keeping only JSON messages with a given field or value and
// only some of their fields.
package main

import (
	"os"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

func main() {
	nsqtool.Main(func(sigs <-chan os.Signal) int { return run(os.Args[1:], os.Stdout, os.Stderr, sigs) })
}
