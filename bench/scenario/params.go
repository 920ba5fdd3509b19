// Package scenario holds the load scenarios, each selectable by name and
// runnable against any V2 broker (a broker.Target): pub, mpub, sub, pubsub,
// fanout, latency, conns, disk, restart and backlog. A scenario dials its own
// connections, uses topics no other run shares, measures one phase and
// returns a bench.Result.
//
// Every scenario is driven by Params; a zero field means the scenario's own
// default (see Defaults), so one set of flags serves all of them.
package scenario

import (
	"github.com/nsqfast/nsq/bench"

	"fmt"
	"time"
)

// Params are a scenario's knobs. Zero means the scenario's default.
type Params struct {
	// Size is the message body size in bytes (default 200, disk 1024).
	Size int `json:"size"`
	// Batch is the messages per MPUB (mpub and the backlog fills of sub,
	// disk, restart and backlog: 200); 1 publishes with PUB.
	Batch int `json:"batch"`
	// Window is how many commands a publisher writes before it waits for
	// an answer (default 1: one round trip per command; latency: 1024, its
	// publishers are open loop).
	Window int `json:"window"`
	// Conns is the number of publishing connections (default 4; latency
	// 2), or for conns the idle subscribed connections (1000).
	Conns int `json:"conns"`
	// Consumers is the number of consuming connections (default 4;
	// latency 2; fanout: one per channel, whatever this says).
	Consumers int `json:"consumers"`
	// Channels is the number of channels of fanout (default 4).
	Channels int `json:"channels"`
	// RDY is each consumer's ready count (default 2500, upstream's
	// bench_reader).
	RDY int64 `json:"rdy"`
	// Duration is the measured phase of the timed scenarios (pub, mpub,
	// pubsub, fanout, latency; how long conns holds its connections).
	// Default 10s.
	Duration time.Duration `json:"duration"`
	// Rate is the total publish rate in messages per second (latency:
	// 10000; others: unlimited).
	Rate float64 `json:"rate"`
	// Backlog is the number of messages sub, restart and backlog prepare
	// (default 500000).
	Backlog int64 `json:"backlog"`
	// DiskBytes is the size of disk's backlog (default 256 MiB).
	DiskBytes int64 `json:"disk_bytes"`
	// Kill makes restart stop the broker with SIGKILL instead of SIGTERM.
	Kill bool `json:"kill"`
	// OutputBufferSize and OutputBufferTimeout (ms) are sent in the
	// consumers' IDENTIFY; 0 keeps the broker's default (upstream: 16 KiB,
	// 250 ms, what go-nsq sends), -1 disables.
	OutputBufferSize    int `json:"output_buffer_size"`
	OutputBufferTimeout int `json:"output_buffer_timeout"`
	// Transport is negotiated by every publishing and consuming
	// connection: TLS, snappy or deflate (the broker must offer them; for
	// TLS give it a certificate with --broker-arg).
	Transport bench.Transport `json:"transport"`
	// SampleInterval is the throughput-over-time resolution (default
	// Duration/50, between 50ms and 1s).
	SampleInterval time.Duration `json:"sample_interval"`
	// Timeout bounds the phases that wait for a count (backlog fills and
	// drains). Default 10×Duration + 60s.
	Timeout time.Duration `json:"timeout"`
}

// Defaults returns p with every zero field set to scenario name's default.
func Defaults(name string, p Params) Params {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	size, window := 200, 1
	if name == "disk" {
		size = 1024
	}
	if name == "latency" {
		window = 1024
	}
	def(&p.Size, size)
	switch name {
	case "mpub", "sub", "disk", "restart", "backlog":
		def(&p.Batch, 200)
	default:
		def(&p.Batch, 1)
	}
	def(&p.Window, window)
	switch name {
	case "latency":
		def(&p.Conns, 2)
		def(&p.Consumers, 2)
	case "conns":
		def(&p.Conns, 1000)
	default:
		def(&p.Conns, 4)
		def(&p.Consumers, 4)
	}
	def(&p.Channels, 4)
	if p.RDY == 0 {
		p.RDY = 2500
	}
	if p.Duration == 0 {
		p.Duration = 10 * time.Second
	}
	if p.Rate == 0 && name == "latency" {
		p.Rate = 10000
	}
	if p.Backlog == 0 {
		p.Backlog = 500000
	}
	if p.DiskBytes == 0 {
		p.DiskBytes = 256 << 20
	}
	if p.SampleInterval == 0 {
		p.SampleInterval = min(max(p.Duration/50, 50*time.Millisecond), time.Second)
	}
	if p.Timeout == 0 {
		p.Timeout = 10*p.Duration + 60*time.Second
	}
	return p
}

// Validate reports parameters no scenario can run with.
func (p Params) Validate() error {
	switch {
	case p.Size < 0, p.Batch < 0, p.Window < 0, p.Conns < 0, p.Consumers < 0, p.Channels < 0:
		return fmt.Errorf("scenario: negative size, batch, window or count")
	case p.RDY < 0, p.Rate < 0, p.Backlog < 0, p.DiskBytes < 0, p.Duration < 0:
		return fmt.Errorf("scenario: negative rdy, rate, backlog, disk bytes or duration")
	case p.Size > 0 && p.Size < 16:
		return fmt.Errorf("scenario: size %d is below 16, the bytes a message needs for its publish time and sequence number", p.Size)
	}
	return nil
}
