package nsqtool

import (
	"os"
	"os/signal"
	"syscall"
)

// Main runs a tool as a process: run receives SIGINT, SIGTERM and the
// extra signals given, and its result is the exit status.
func Main(run func(sigs <-chan os.Signal) int, extra ...os.Signal) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGINT, syscall.SIGTERM}, extra...)...)
	os.Exit(run(sigs))
}
