// Package nsqtool holds what the NSQ utilities (nsq_tail, to_nsq,
// nsq_stat, nsq_to_file, nsq_to_http, nsq_to_nsq) share: repeatable
// flags and the go-nsq option pass-through, the version and user agents
// they report, their logging, their HTTP clients (queries of nsqd and
// nsqlookupd go through admin/cluster, as upstream's go through its
// internal/clusterinfo), the host pools and timing reports of
// nsq_to_http and nsq_to_nsq.
//
// Each tool lives in cmd/<tool> as a run(args, stdin, stdout, stderr,
// signals) function that main only wraps, so that tests drive it
// in-process. Nothing here reads os.Args, os.Stdout or os.Stderr, or
// exits the process.
//
// Behaviour, flag names and defaults follow NSQ v1.3.0's utilities;
// docs/COMPATIBILITY.md lists where they differ.
package nsqtool
