// Command nsq_to_http sends the messages of a topic's channel to HTTP
// endpoints, as NSQ v1.3.0's nsq_to_http does: GET with the message in
// the URL or POST with it as the body, to every endpoint, in turn
// (round-robin) or through a host pool that avoids failing endpoints.
package main

import (
	"os"

	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

func main() {
	nsqtool.Main(func(sigs <-chan os.Signal) int { return run(os.Args[1:], os.Stdout, os.Stderr, sigs) })
}
