// Command to_nsq publishes what it reads on stdin to a topic, one message
// per line (or per --delimiter), as NSQ v1.3.0's to_nsq does.
package main

import (
	"os"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

func main() {
	nsqtool.Main(func(sigs <-chan os.Signal) int { return run(os.Args[1:], os.Stdin, os.Stderr, sigs) })
}
