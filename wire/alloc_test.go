//go:build !race

package wire

import (
	"testing"
	"time"
)

// The race detector makes allocations of its own, so these run without it.

func TestZeroAllocs(t *testing.T) {
	lim := DefaultLimits()
	pub := AppendPUB(nil, "topic", make([]byte, 200))
	dpub := AppendDPUB(nil, "topic", time.Second, make([]byte, 200))
	mpub := AppendMPUB(nil, "topic", [][]byte{make([]byte, 100), make([]byte, 10), make([]byte, 1)})
	fin := AppendFIN(nil, IDFromUint64(77))
	req := AppendREQ(nil, IDFromUint64(77), time.Second)
	rdy := AppendRDY(nil, 100)
	sub := AppendSUB(nil, "topic", "channel#ephemeral")
	identify := AppendIdentify(nil, []byte(`{"client_id":"x"}`))
	partial := pub[:len(pub)-1]
	id := IDFromUint64(0xabcdef)
	body := make([]byte, 200)
	out := make([]byte, 0, 4096)
	var cmd Command

	mustOK := func(n int, err *Error) {
		if err != nil || n == 0 {
			t.Fatalf("n=%d err=%v", n, err)
		}
	}
	cases := []struct {
		name string
		fn   func()
	}{
		{"ParseCommand PUB", func() { mustOK(ParseCommand(pub, &lim, &cmd)) }},
		{"ParseCommand PUB nil limits", func() { mustOK(ParseCommand(pub, nil, &cmd)) }},
		{"ParseCommand DPUB", func() { mustOK(ParseCommand(dpub, &lim, &cmd)) }},
		{"ParseCommand MPUB", func() { mustOK(ParseCommand(mpub, &lim, &cmd)) }},
		{"ParseCommand MPUB + EachMessage", func() {
			mustOK(ParseCommand(mpub, &lim, &cmd))
			n := 0
			cmd.EachMessage(func(b []byte) { n += len(b) })
			sinkInt = n
		}},
		{"ParseCommand MPUB + Messages", func() {
			mustOK(ParseCommand(mpub, &lim, &cmd))
			it := cmd.Messages()
			for b, ok := it.Next(); ok; b, ok = it.Next() {
				sinkInt += len(b)
			}
		}},
		{"ParseCommand FIN + ParseFIN + Uint64FromID", func() {
			mustOK(ParseCommand(fin, &lim, &cmd))
			id, err := ParseFIN(cmd.Params)
			if err != nil {
				t.Fatal(err)
			}
			sinkU64, sinkBool = Uint64FromID(id)
		}},
		{"ParseCommand REQ + ParseREQ", func() {
			mustOK(ParseCommand(req, &lim, &cmd))
			id, d, err := ParseREQ(cmd.Params)
			if err != nil {
				t.Fatal(err)
			}
			sinkBytes, sinkInt = id, int(ClampReqTimeout(d, time.Hour))
		}},
		{"ParseCommand RDY + ParseRDY", func() {
			mustOK(ParseCommand(rdy, &lim, &cmd))
			n, err := ParseRDY(cmd.Params)
			if err != nil {
				t.Fatal(err)
			}
			sinkInt = int(n)
		}},
		{"ParseCommand SUB + ParseSUB", func() {
			mustOK(ParseCommand(sub, &lim, &cmd))
			topic, _, err := ParseSUB(cmd.Params)
			if err != nil {
				t.Fatal(err)
			}
			sinkBytes = topic
		}},
		{"ParseCommand IDENTIFY", func() { mustOK(ParseCommand(identify, &lim, &cmd)) }},
		{"ParseCommand need more", func() {
			n, err := ParseCommand(partial, &lim, &cmd)
			if n != 0 || err != nil {
				t.Fatal(n, err)
			}
		}},
		{"AppendMessage", func() { sinkBytes = AppendMessage(out[:0], id, 1234567890, 3, body) }},
		{"AppendMessageData", func() { sinkBytes = AppendMessageData(out[:0], id, 1234567890, 3, body) }},
		{"AppendFrame", func() { sinkBytes = AppendFrame(out[:0], FrameTypeResponse, body) }},
		{"AppendOK", func() { sinkBytes = AppendOK(out[:0]) }},
		{"AppendHeartbeat", func() { sinkBytes = AppendHeartbeat(out[:0]) }},
		{"AppendCloseWait", func() { sinkBytes = AppendCloseWait(out[:0]) }},
		{"AppendErrorFrame", func() { sinkBytes = AppendErrorFrame(out[:0], &Error{Code: CodeInvalid, Desc: "x"}) }},
		{"IDFromUint64", func() { sinkID = IDFromUint64(uint64(sinkInt)) }},
		{"Uint64FromID", func() { sinkU64, sinkBool = Uint64FromID(id[:]) }},
		{"IsValidTopicName", func() {
			sinkBool = IsValidTopicName(cmd.Name) || IsValidTopicName([]byte("some.topic_name-1#ephemeral"))
		}},
		{"IsValidChannelName", func() { sinkBool = IsValidChannelName([]byte("channel")) }},
		{"IsEphemeral", func() { sinkBool = IsEphemeral([]byte("channel#ephemeral")) }},
		{"ParseMessage", func() {
			m, ok := ParseMessage(AppendMessageData(out[:0], id, 1, 1, body))
			sinkBytes, sinkBool = m.Body, ok
		}},
		{"ParseFrame", func() {
			_, data, _, _ := ParseFrame(AppendOK(out[:0]))
			sinkBytes = data
		}},
		{"AppendPUB", func() { sinkBytes = AppendPUB(out[:0], "topic", body) }},
		{"AppendMPUB", func() { sinkBytes = AppendMPUB(out[:0], "topic", [][]byte{body, body}) }},
		{"AppendDPUB", func() { sinkBytes = AppendDPUB(out[:0], "topic", time.Second, body) }},
		{"AppendFIN/REQ/TOUCH/RDY/SUB/NOP/CLS", func() {
			b := AppendFIN(out[:0], id)
			b = AppendREQ(b, id, time.Second)
			b = AppendTOUCH(b, id)
			b = AppendRDY(b, 10)
			b = AppendSUB(b, "t", "c")
			b = AppendNOP(b)
			sinkBytes = AppendCLS(b)
		}},
		{"AppendCommand", func() { sinkBytes = AppendCommand(out[:0], "FIN", id[:]) }},
	}
	for _, tc := range cases {
		if a := testing.AllocsPerRun(200, tc.fn); a != 0 {
			t.Errorf("%s: %v allocs per run", tc.name, a)
		}
	}
}
