package nsqtool

import (
	"strings"
	"testing"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestVersionAndUserAgent(t *testing.T) {
	if got := VersionLine("nsq_tail"); got != "nsq_tail v1.3.0" {
		t.Error(got)
	}
	if got := UserAgent("to_nsq"); got != "to_nsq/1.3.0 go-nsq/1.1.0" {
		t.Error(got)
	}
}

func TestCheckSources(t *testing.T) {
	if err := CheckSources("nsqd-tcp-address", nil, nil); err == nil || err.Error() != "--nsqd-tcp-address or --lookupd-http-address required" {
		t.Error(err)
	}
	if err := CheckSources("nsqd-http-address", []string{"a"}, []string{"b"}); err == nil || err.Error() != "use --nsqd-http-address or --lookupd-http-address not both" {
		t.Error(err)
	}
	if err := CheckSources("x", nil, []string{"b"}); err != nil {
		t.Error(err)
	}
}
