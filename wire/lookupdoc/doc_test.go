package lookupdoc

import (
	"encoding/json"
	"testing"
)

// Upstream encodes some documents as maps (keys sorted) and some as
// structs (fields in order); each test builds upstream's form and checks
// that ours encodes byte for byte the same.

func same(t *testing.T, name string, ours, upstream any) {
	t.Helper()
	a, err := json.Marshal(ours)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(upstream)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("%s:\n ours     %s\n upstream %s", name, a, b)
	}
}

func TestEncodingMatchesUpstream(t *testing.T) {
	same(t, "Identity",
		Identity{BroadcastAddress: "b", Hostname: "h", HTTPPort: 4161, TCPPort: 4160, Version: "1.3.0"},
		map[string]any{"tcp_port": 4160, "http_port": 4161, "version": "1.3.0", "broadcast_address": "b", "hostname": "h"})
	same(t, "DebugProducer",
		DebugProducer{BroadcastAddress: "b", Hostname: "h", HTTPPort: 2, ID: "i", LastUpdate: 5, TCPPort: 1, Tombstoned: true, TombstonedAt: 7, Version: "v"},
		map[string]any{"id": "i", "hostname": "h", "broadcast_address": "b", "tcp_port": 1, "http_port": 2, "version": "v",
			"last_update": int64(5), "tombstoned": true, "tombstoned_at": int64(7)})
	same(t, "Lookup",
		Lookup{Channels: []string{"c"}, Producers: []Peer{{RemoteAddress: "r", Hostname: "h", BroadcastAddress: "b", TCPPort: 1, HTTPPort: 2, Version: "v"}}},
		map[string]any{"producers": []any{struct {
			RemoteAddress    string `json:"remote_address"`
			Hostname         string `json:"hostname"`
			BroadcastAddress string `json:"broadcast_address"`
			TCPPort          int    `json:"tcp_port"`
			HTTPPort         int    `json:"http_port"`
			Version          string `json:"version"`
		}{"r", "h", "b", 1, 2, "v"}}, "channels": []string{"c"}})
	same(t, "Topics", Topics{Topics: []string{}}, map[string]any{"topics": []string{}})
	same(t, "Channels", Channels{Channels: []string{"a"}}, map[string]any{"channels": []string{"a"}})
	same(t, "Nodes", Nodes{Producers: []Node{}}, map[string]any{"producers": []any{}})
	same(t, "Node", Node{Peer: Peer{RemoteAddress: "r", Hostname: "h", BroadcastAddress: "b", TCPPort: 1, HTTPPort: 2, Version: "v"},
		Tombstones: []bool{true}, Topics: []string{"t"}},
		struct {
			RemoteAddress    string   `json:"remote_address"`
			Hostname         string   `json:"hostname"`
			BroadcastAddress string   `json:"broadcast_address"`
			TCPPort          int      `json:"tcp_port"`
			HTTPPort         int      `json:"http_port"`
			Version          string   `json:"version"`
			Tombstones       []bool   `json:"tombstones"`
			Topics           []string `json:"topics"`
		}{"r", "h", "b", 1, 2, "v", []bool{true}, []string{"t"}})
	same(t, "Info", Info{Version: "1.3.0"}, struct {
		Version string `json:"version"`
	}{"1.3.0"})
	same(t, "Message", Message{Message: "NOT_FOUND"}, struct {
		Message string `json:"message"`
	}{"NOT_FOUND"})
}
