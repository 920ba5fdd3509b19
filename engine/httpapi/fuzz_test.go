package httpapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/url"
	"slices"
	"testing"
)

// FuzzQuery: the in-place query scan answers as url.ParseQuery does, for
// the parameter names the API reads.
func FuzzQuery(f *testing.F) {
	for _, raw := range []string{"", "topic=t", "topic=t&channel=c", "topic=a&topic=b", "topic", "topic=",
		"x=1&&topic=t", "=x&topic=y", "topic=a%20b", "topic=a+b", "topic=t;x=1", "topic=%zz", "a=b=c&topic=d=e"} {
		f.Add(raw, "topic")
	}
	f.Add("binary=true&topic=t", "binary")
	f.Fuzz(func(t *testing.T, raw, key string) {
		if key == "" {
			return // never asked for; url.ParseQuery drops empty pairs, the scan does not
		}
		q, err := parseQuery(raw)
		vals, wantErr := url.ParseQuery(raw)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, url.ParseQuery's %v", raw, err, wantErr)
		}
		if err != nil {
			return
		}
		v, ok := q.get(key)
		want, wantOK := vals[key]
		if ok != wantOK || (ok && v != want[0]) {
			t.Fatalf("%q get(%q) = %q %v, url.ParseQuery gives %q", raw, key, v, ok, want)
		}
	})
}

// FuzzBinaryMPUB: whatever the body, reading it fails with one of
// upstream's errors or yields exactly the messages it frames, each within
// the limits.
func FuzzBinaryMPUB(f *testing.F) {
	frame := func(msgs ...string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(msgs)))
		for _, m := range msgs {
			b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
			b = append(b, m...)
		}
		return b
	}
	f.Add(frame("a", "bb", "ccc"))
	f.Add(frame("a")[:6])
	f.Add(frame())
	f.Add(frame("0123456789abcdef0123456789abcdef_too_big"))
	f.Add(append(frame("x"), "trailing"...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	const maxMsg, maxBody = 32, 256
	f.Fuzz(func(t *testing.T, body []byte) {
		buf, err := readBinaryMPUB(nil, bytes.NewReader(body), maxMsg, maxBody)
		if err != nil {
			if !errors.Is(err, errBadBody) && !errors.Is(err, errBadMessage) {
				t.Fatalf("error %v is not upstream's", err)
			}
			return
		}
		count := int(binary.BigEndian.Uint32(body))
		var got [][]byte
		for m := range framedMessages(buf) {
			if len(m) == 0 || len(m) > maxMsg {
				t.Fatalf("message of %d bytes passed the limits", len(m))
			}
			got = append(got, m)
		}
		if len(got) != count {
			t.Fatalf("%d messages, the body frames %d", len(got), count)
		}
		// they are the body's frames, in order
		off := 4
		for i, m := range got {
			n := int(binary.BigEndian.Uint32(body[off:]))
			if !bytes.Equal(m, body[off+4:off+4+n]) {
				t.Fatalf("message %d is %q, the body has %q", i, m, body[off+4:off+4+n])
			}
			off += 4 + n
		}
	})
}

// FuzzTextMPUB: a newline-separated body passes the checks only when each
// line is within the message limit and the whole within the body limit,
// and then its messages are exactly its non-empty lines.
func FuzzTextMPUB(f *testing.F) {
	for _, s := range []string{"", "a", "a\nbb\n", "a\n\n\nb", "\n", "0123456789abcdef0123456789abcdef_too_big\n", "x\r\ny"} {
		f.Add([]byte(s))
	}
	const maxMsg, readMax = 32, 257
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkTextMPUB(body, nil, readMax, maxMsg)
		lines := bytes.Split(body, []byte("\n"))
		tooBig := slices.ContainsFunc(lines, func(l []byte) bool { return len(l) > maxMsg })
		switch {
		case err == nil && (tooBig || len(body) >= readMax):
			t.Fatalf("%q passed: a line over %d bytes, or %d bytes in all", body, maxMsg, len(body))
		case err != nil && !errors.Is(err, errMsgTooBig) && !errors.Is(err, errBodyTooBig):
			t.Fatalf("error %v is not upstream's", err)
		case err != nil:
			return
		}
		var want [][]byte
		for _, l := range lines {
			if len(l) > 0 {
				want = append(want, l)
			}
		}
		var got [][]byte
		for m := range textMessages(body) {
			got = append(got, m)
		}
		if !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("%q: messages %q, want %q", body, got, want)
		}
	})
}
