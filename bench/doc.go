// Package bench holds the pieces the load generators share: Conn, a
// one-goroutine V2 protocol client built for throughput (buffered writes,
// pipelining, no allocation per message), the message body layout that
// carries a publish timestamp and a sequence number, the process-wide
// monotonic clock the timestamps use, and Result, what a scenario measures.
//
// The subpackages build on it:
//
//	bench/hist      HDR-style latency histogram
//	bench/broker    start, restart and stop a broker binary on a fresh data path; its HTTP API
//	bench/fake      a tiny in-process V2 broker: a no-op sink (the client's own ceiling)
//	                and a router that delivers each message after a known delay
//	bench/scenario  the scenarios (pub, mpub, sub, pubsub, fanout, latency, conns, disk, restart, backlog)
//	bench/report    JSON, Markdown and SVG charts; side-by-side comparison
//	bench/suite     runs scenarios against one or two brokers, in rounds, with profiles
//	bench/targets   issue 6's performance targets, side by side
//	bench/sweep     scaling sweeps (cost curves) against one or two broker binaries, charted
//
// cmd/nsq_bench is the command line over them; `make bench`,
// `make bench-compare`, `make bench-targets` and `make bench-sweep` run
// it. docs/BENCHMARKS.md describes the method.
package bench
