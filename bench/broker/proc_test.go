package broker

import (
	"os"
	"testing"
	"time"
)

const status = `Name:	nsqd
VmPeak:	 1271516 kB
VmHWM:	   31200 kB
VmRSS:	   29876 kB
RssAnon:	   10000 kB
RssFile:	   19876 kB
Threads:	7
`

func TestParseStatus(t *testing.T) {
	m, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 29876<<10 || m.Peak != 31200<<10 || m.Anon != 10000<<10 {
		t.Fatalf("%+v", m)
	}
	for _, bad := range []string{"", "VmRSS: 12 MB\n", "VmRSS: x kB\n", "VmRSS: -4 kB\n"} {
		if _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(status))
	f.Add([]byte("VmRSS:\t1 kB\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseStatus(data)
		if err == nil && (m.RSS < 0 || m.Peak < 0) {
			t.Fatalf("negative memory %+v", m)
		}
	})
}

func TestParseStat(t *testing.T) {
	line := "4242 (nsqd (x) y) S 1 4242 4242 0 -1 4194560 3190 0 0 0 250 75 0 0 20 0 9 0 1234 1300000000 7000 18446744073709551615\n"
	d, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if d != 3250*time.Millisecond {
		t.Fatalf("cpu %v, want 3.25s", d)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 5"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if d, err := ProcCPU(os.Getpid()); err != nil || d < 0 {
		t.Fatalf("own cpu %v: %v", d, err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (a) S 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1 1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := parseStat(data); err == nil && d < 0 {
			t.Fatalf("negative cpu %v", d)
		}
	})
}
