package main

import (
	"errors"
	"strconv"
	"strings"
)

// filenameFormat is opts.FilenameFormat for topic with <TOPIC>, <HOST>
// and <PID> replaced, <DATETIME> left for each file and <REV> left when
// files are numbered (with gzip, rotation or a work directory, which
// then need it) and removed otherwise; with gzip, ".gz" is appended
// unless already there.
func filenameFormat(opts *Options, topic, hostname string, pid int) (string, error) {
	short, _, _ := strings.Cut(hostname, ".")
	host := short
	if opts.HostIdentifier != "" {
		host = strings.ReplaceAll(opts.HostIdentifier, "<SHORT_HOST>", short)
		host = strings.ReplaceAll(host, "<HOSTNAME>", hostname)
	}
	f := opts.FilenameFormat
	if opts.GZIP || opts.RotateSize > 0 || opts.RotateInterval > 0 || opts.WorkDir != opts.OutputDir {
		if !strings.Contains(f, "<REV>") {
			return "", errors.New("missing <REV> in --filename-format when gzip, rotation, or work dir enabled")
		}
	} else {
		f = strings.ReplaceAll(f, "<REV>", "")
	}
	f = strings.ReplaceAll(f, "<TOPIC>", topic)
	f = strings.ReplaceAll(f, "<HOST>", host)
	f = strings.ReplaceAll(f, "<PID>", strconv.Itoa(pid))
	if opts.GZIP && !strings.HasSuffix(f, ".gz") {
		f += ".gz"
	}
	return f, nil
}

// revision is the <REV> of a file's revision: "-000042".
func revision(rev uint) string {
	s := strconv.FormatUint(uint64(rev), 10)
	if len(s) < 6 {
		s = strings.Repeat("0", 6-len(s)) + s
	}
	return "-" + s
}
