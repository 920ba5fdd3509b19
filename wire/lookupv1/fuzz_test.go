package lookupv1

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/wire"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// The seed corpus in testdata/fuzz/FuzzNext is real nsqd traffic built
// with the Append helpers, plus malformed streams; regenerate it with
//
//	go test ./wire/lookupv1 -run TestWriteFuzzSeeds -update-seeds
var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed corpus in testdata/fuzz")

func fuzzSeeds() map[string][]byte {
	session := func(cmds ...[]byte) []byte { return bytes.Join(cmds, nil) }
	identify := AppendIdentify(nil, []byte(nsqdIdentify))
	return map[string][]byte{
		"nsqd_session": session(identify, AppendRegister(nil, "orders", ""), AppendRegister(nil, "orders", "billing"),
			AppendPing(nil), AppendUnregister(nil, "orders", "billing"), AppendUnregister(nil, "orders", "")),
		"ephemeral":        session(identify, AppendRegister(nil, "t#ephemeral", "c#ephemeral"), AppendUnregister(nil, "t#ephemeral", "c#ephemeral")),
		"ping_first":       session(AppendPing(nil), identify, AppendPing(nil)),
		"register_first":   AppendRegister(nil, "t", "c"),
		"identify_twice":   session(identify, identify),
		"identify_cut":     identify[:len(identify)-3],
		"identify_no_size": []byte("IDENTIFY\n\x00\x00"),
		"identify_neg":     []byte("IDENTIFY\n\xff\xff\xff\xff"),
		"identify_huge":    []byte("IDENTIFY\n\x7f\xff\xff\xff{}"),
		"identify_missing": AppendIdentify(nil, []byte(`{"broadcast_address":"a","tcp_port":1}`)),
		"identify_bad":     AppendIdentify(nil, []byte(`{"tcp_port":"x"}`)),
		"bad_topic":        session(identify, []byte("REGISTER a/b\n")),
		"bad_channel":      session(identify, []byte("REGISTER a b*\n")),
		"no_params":        session(identify, []byte("UNREGISTER\n")),
		"unknown":          []byte("NOP\n"),
		"empty_line":       []byte("\n"),
		"crlf_spaces":      session(identify, []byte("  REGISTER  t \r\nPING\r\n")),
		"partial_line":     []byte("PIN"),
	}
}

// TestWriteFuzzSeeds regenerates testdata/fuzz when -update-seeds is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzNext")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range fuzzSeeds() {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint64(0)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(dir, "seed_"+name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fuzzLimits keeps the fuzzer's lines and bodies within reach.
var fuzzLimits = Limits{MaxLine: 64, MaxBody: 256}

// serve runs the V1 protocol as lookup/tcp.go does, over stream delivered
// in chunks (split at the boundaries cut chooses), and returns what the
// server would do: one event per answer, then how the connection ended.
func serve(stream []byte, cut func(int) int) []string {
	var events []string
	var buf []byte
	identified := false
	var cmd Command
	for pos := 0; ; {
		end := len(stream)
		if pos < end {
			end = min(pos+1+cut(end-pos), end)
		}
		buf = append(buf, stream[pos:end]...)
		pos = end
		for {
			n, err := Next(buf, identified, &fuzzLimits, &cmd)
			if err == nil && n == 0 {
				break
			}
			if err == nil {
				err = run(&cmd, &identified, &events)
			}
			if err != nil {
				if !err.Silent() {
					events = append(events, "ERR "+err.Error())
				}
				return append(events, "close")
			}
			buf = buf[n:]
		}
		if pos == len(stream) {
			if err := IncompleteError(buf, identified, &fuzzLimits); err != nil {
				events = append(events, "ERR "+err.Error())
			}
			return append(events, "close")
		}
	}
}

func run(cmd *Command, identified *bool, events *[]string) *wire.Error {
	switch cmd.Kind {
	case CmdPing:
		*events = append(*events, "OK")
	case CmdIdentify:
		if *identified {
			return ErrIdentifyAgain()
		}
		p, err := ParseIdentify(cmd.Body, "r")
		if err != nil {
			return err
		}
		*identified = true
		*events = append(*events, fmt.Sprintf("IDENTIFY %+v", p))
	case CmdRegister, CmdUnregister:
		if !*identified {
			return ErrNotIdentified()
		}
		topic, channel, err := TopicChannel(cmd)
		if err != nil {
			return err
		}
		*events = append(*events, fmt.Sprintf("%s %s %s", cmd.Kind, topic, channel))
	default:
		return ErrInvalidCommand(cmd.Name)
	}
	return nil
}

// model is upstream's IOLoop (nsqlookupd/lookup_protocol_v1.go) rewritten
// over a reader, with our two limits added: lines longer than MaxLine
// close the connection silently, and an IDENTIFY size outside
// [0, MaxBody] is refused (upstream allocates it, or crashes if negative).
func model(stream []byte) []string {
	var events []string
	r := bufio.NewReader(bytes.NewReader(stream))
	identified := false
	fail := func(s string) []string { return append(events, "ERR "+s, "close") }
	for {
		line, err := r.ReadString('\n')
		if len(line) > fuzzLimits.MaxLine || (err != nil && len(line) >= fuzzLimits.MaxLine) {
			return append(events, "close")
		}
		if err != nil {
			return append(events, "close")
		}
		params := strings.Split(strings.TrimSpace(line), " ")
		switch params[0] {
		case "PING":
			events = append(events, "OK")
		case "IDENTIFY":
			if identified {
				return fail("E_INVALID cannot IDENTIFY again")
			}
			var size int32
			if err := binary.Read(r, binary.BigEndian, &size); err != nil {
				return fail("E_BAD_BODY IDENTIFY failed to read body size")
			}
			if size < 0 || int(size) > fuzzLimits.MaxBody {
				return fail(fmt.Sprintf("E_BAD_BODY IDENTIFY invalid body size %d", size))
			}
			body := make([]byte, size)
			if _, err := io.ReadFull(r, body); err != nil {
				return fail("E_BAD_BODY IDENTIFY failed to read body")
			}
			var p lookupdoc.Peer // upstream's PeerInfo, exported fields alike
			if err := json.Unmarshal(body, &p); err != nil {
				return fail("E_BAD_BODY IDENTIFY failed to decode JSON body")
			}
			p.RemoteAddress = "r"
			if p.BroadcastAddress == "" || p.TCPPort == 0 || p.HTTPPort == 0 || p.Version == "" {
				return fail("E_BAD_BODY IDENTIFY missing fields")
			}
			identified = true
			events = append(events, fmt.Sprintf("IDENTIFY %+v", p))
		case "REGISTER", "UNREGISTER":
			if !identified {
				return fail("E_INVALID client must IDENTIFY")
			}
			args := params[1:]
			if len(args) == 0 {
				return fail("E_INVALID " + params[0] + " insufficient number of params")
			}
			topic, channel := args[0], ""
			if len(args) >= 2 {
				channel = args[1]
			}
			if !wire.IsValidTopicName([]byte(topic)) {
				return fail(fmt.Sprintf("E_BAD_TOPIC %s topic name '%s' is not valid", params[0], topic))
			}
			if channel != "" && !wire.IsValidChannelName([]byte(channel)) {
				return fail(fmt.Sprintf("E_BAD_CHANNEL %s channel name '%s' is not valid", params[0], channel))
			}
			events = append(events, fmt.Sprintf("%s %s %s", params[0], topic, channel))
		default:
			return fail("E_INVALID invalid command " + params[0])
		}
	}
}

// FuzzNext runs streams through Next, whole and split at pseudo-random
// boundaries, and checks that the answers and the way the connection ends
// match the model of upstream's reader.
func FuzzNext(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, uint64(0))
		f.Add(s, uint64(0x9e3779b97f4a7c15))
	}
	f.Fuzz(func(t *testing.T, stream []byte, seed uint64) {
		want := model(stream)
		whole := serve(stream, func(left int) int { return left })
		if !slices.Equal(whole, want) {
			t.Fatalf("whole stream %q:\n got %q\nwant %q", stream, whole, want)
		}
		x := seed | 1
		split := serve(stream, func(left int) int {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			return int(x % uint64(min(left, 8)))
		})
		if !slices.Equal(split, want) {
			t.Fatalf("split stream %q (seed %d):\n got %q\nwant %q", stream, seed, split, want)
		}
	})
}

// FuzzParseResponse: the responses nsqd reads from nsqlookupd, however
// the stream arrives in pieces, are those a plain reader of sized frames
// finds, and a size over the limit ends the stream where that reader
// would stop.
func FuzzParseResponse(f *testing.F) {
	ok := AppendResponse(nil, []byte(OK))
	f.Add(slices.Concat(ok, ok, AppendResponse(nil, []byte(`{"tcp_port":4160}`))), uint64(1))
	f.Add(AppendResponse(nil, []byte("E_INVALID bad"))[:7], uint64(3))
	f.Add([]byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, uint64(5))
	f.Add([]byte{0, 0, 0, 65}, uint64(7))
	const max = 64
	f.Fuzz(func(t *testing.T, stream []byte, seed uint64) {
		// the model: read a size, then that many bytes, until the end
		var want []string
		wantErr := false
		for r := bytes.NewReader(stream); ; {
			var size int32
			if binary.Read(r, binary.BigEndian, &size) != nil {
				break
			}
			if size < 0 || size > max {
				wantErr = true
				break
			}
			b := make([]byte, size)
			if _, err := io.ReadFull(r, b); err != nil {
				break
			}
			want = append(want, string(b))
		}
		// pieces of pseudo-random length, parsed as they come
		var got []string
		gotErr := false
		var buf []byte
		x := seed | 1
	feed:
		for pos := 0; pos < len(stream); {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			end := min(pos+1+int(x%9), len(stream))
			buf, pos = append(buf, stream[pos:end]...), end
			for {
				data, n, err := ParseResponse(buf, max)
				if err != nil {
					if !errors.Is(err, ErrResponseTooLarge) {
						t.Fatalf("error %v", err)
					}
					gotErr = true
					break feed
				}
				if n == 0 {
					break
				}
				got = append(got, string(data))
				buf = buf[n:]
			}
		}
		if !slices.Equal(got, want) || gotErr != wantErr {
			t.Fatalf("%q: responses %q (error %v), want %q (error %v)", stream, got, gotErr, want, wantErr)
		}
	})
}
