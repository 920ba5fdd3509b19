// Package e2e holds black-box tests of the NSQ utilities: it builds the
// six binaries and runs them as processes, piped together, with real
// signals, against our nsqd and nsqlookupd and (when their binaries are
// present) upstream's; and it compares each tool's behaviour with
// upstream v1.3.0's binary side by side. Upstream binaries are looked for
// as upstream-<name> in $NSQ_UPSTREAM_DIR (default /tmp); tests that need
// one are skipped without it. Build them outside this repository:
//
//	cd nsq && for t in nsqd nsqlookupd nsq_tail to_nsq nsq_stat nsq_to_file nsq_to_http nsq_to_nsq; do
//	  go build -o /tmp/upstream-$t ./apps/$t; done
//
// The package has no code of its own.
package e2e
