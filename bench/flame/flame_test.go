package flame

import (
	"bytes"
	"encoding/xml"
	"runtime/pprof"
	"strings"
	"testing"
)

// heapProfile returns a real pprof profile of this process.
func heapProfile(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&buf, 0); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var sink [][]byte

func TestParseRealProfile(t *testing.T) {
	for range 1000 {
		sink = append(sink, make([]byte, 4096)) // something to sample
	}
	p, err := Parse(heapProfile(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.SampleTypes) != 4 || p.SampleTypes[0] != "alloc_objects/count" {
		t.Fatalf("sample types %v", p.SampleTypes)
	}
	var found bool
	for _, s := range p.Samples {
		if len(s.Values) != 4 || len(s.Stack) == 0 {
			t.Fatalf("sample %+v", s)
		}
		for _, f := range s.Stack {
			if strings.HasSuffix(f, "flame.TestParseRealProfile") {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("this test's frame is in no stack")
	}
	svg := SVG(p, Options{Title: "heap <test>", Index: 1})
	var doc struct {
		XMLName xml.Name
		G       []struct {
			Title string `xml:"title"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if doc.XMLName.Local != "svg" || len(doc.G) < 3 || !strings.HasPrefix(doc.G[0].Title, "all (") {
		t.Fatalf("flame graph: %d frames, first %+v", len(doc.G), doc.G)
	}
}

// A hand-made profile: two stacks, unpacked repeated fields, an inlined
// frame, a location without lines.
func TestParseHandMade(t *testing.T) {
	var m msg
	m.bytes(6, "")            // string 0
	m.bytes(6, "cpu")         // 1
	m.bytes(6, "nanoseconds") // 2
	m.bytes(6, "main")        // 3
	m.bytes(6, "work")        // 4
	m.bytes(6, "inlined")     // 5
	var vt msg
	vt.varint(1, 1)
	vt.varint(2, 2)
	m.bytes(1, string(vt))
	for id, name := range map[uint64]uint64{1: 3, 2: 4, 3: 5} {
		var f msg
		f.varint(1, id)
		f.varint(2, name)
		m.bytes(5, string(f))
	}
	// location 10: main; location 11: inlined inside work; location 12: no lines.
	for _, l := range []struct {
		id    uint64
		funcs []uint64
	}{{10, []uint64{1}}, {11, []uint64{3, 2}}, {12, nil}} {
		var loc msg
		loc.varint(1, l.id)
		for _, f := range l.funcs {
			var line msg
			line.varint(1, f)
			loc.bytes(4, string(line))
		}
		m.bytes(4, string(loc))
	}
	var s1, s2 msg
	s1.varint(1, 11)
	s1.varint(1, 10)
	s1.varint(2, 300)
	s2.varint(1, 12)
	s2.varint(1, 10)
	s2.varint(2, 100)
	m.bytes(2, string(s1))
	m.bytes(2, string(s2))
	p, err := Parse([]byte(m))
	if err != nil {
		t.Fatal(err)
	}
	if p.SampleTypes[0] != "cpu/nanoseconds" || len(p.Samples) != 2 {
		t.Fatalf("%+v", p)
	}
	if got := strings.Join(p.Samples[0].Stack, ","); got != "inlined,work,main" {
		t.Fatalf("stack %s", got)
	}
	if got := strings.Join(p.Samples[1].Stack, ","); got != "0xc,main" {
		t.Fatalf("stack %s", got)
	}
	svg := string(SVG(p, Options{Index: -1}))
	if !strings.Contains(svg, "main (400ns, 100.00%)") || !strings.Contains(svg, "work (300ns, 75.00%)") {
		t.Fatalf("svg:\n%s", svg)
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range [][]byte{{0x1f, 0x8b, 1}, {0x0a, 0x05, 1}, {0x07}, {}, {0x70, 0x01}} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("accepted % x", bad)
		}
	}
}

// msg builds protocol buffer messages for tests.
type msg []byte

func (m *msg) key(num, wt int) { *m = appendUvarint(*m, uint64(num<<3|wt)) }
func (m *msg) varint(num int, v uint64) {
	m.key(num, 0)
	*m = appendUvarint(*m, v)
}
func (m *msg) bytes(num int, s string) {
	m.key(num, 2)
	*m = appendUvarint(*m, uint64(len(s)))
	*m = append(*m, s...)
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func FuzzParse(f *testing.F) {
	f.Add(heapProfile(f))
	f.Add([]byte{0x0a, 0x04, 0x08, 0x01, 0x10, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		SVG(p, Options{Index: -1})
	})
}
