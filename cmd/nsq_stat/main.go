// Command nsq_stat polls /stats of every nsqd that has a topic and prints
// the channel's figures summed over them at each interval, in NSQ
// v1.3.0's nsq_stat columns.
package main

import (
	"os"
	"syscall"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

func main() {
	nsqtool.Main(func(sigs <-chan os.Signal) int { return run(os.Args[1:], os.Stdout, os.Stderr, sigs) }, syscall.SIGHUP)
}
