package broker

import "testing"

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
