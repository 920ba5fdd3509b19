// Package lookupdoc holds the JSON documents of nsqlookupd's HTTP API and
// of its TCP IDENTIFY exchange, shaped as NSQ v1.3.0 writes them.
//
// Key names and key order are part of the contract: go-nsq, nsqd and
// nsqadmin decode these documents, and scripts compare them as text. Each
// struct lists its fields in the order upstream's encoder writes them
// (struct order where upstream encodes a struct, alphabetical order where
// it encodes a map), so the order must not change.
//
// # Response form
//
// nsqlookupd v1.3.0 answers in one form only, whatever the request's Accept
// header says: a successful call gets the bare document (or an empty body),
// a failed one gets Message ({"message":"TOPIC_NOT_FOUND"}) with the status
// code, and both carry "X-NSQ-Content-Type: nsq; version=1.0". The pre-1.0
// {"status_code":..,"status_txt":..,"data":..} envelope was removed in
// v1.0.0; go-nsq still understands it, but no v1.3.0 server sends it.
//
// The package is pure: no I/O, standard library only. Values are plain
// data, not safe for concurrent mutation.
package lookupdoc

// Message is the body of every failed response, and of the router's 404
// and 405 answers.
type Message struct {
	Message string `json:"message"`
}

// Info is GET /info.
type Info struct {
	Version string `json:"version"`
}

// Topics is GET /topics: every topic with a registration.
type Topics struct {
	Topics []string `json:"topics"`
}

// Channels is GET /channels?topic=: every channel registered for a topic.
type Channels struct {
	Channels []string `json:"channels"`
}

// Peer describes one nsqd. It is the body of the IDENTIFY an nsqd sends
// (where RemoteAddress is absent and ignored) and each producer of
// GET /lookup.
type Peer struct {
	// RemoteAddress is the nsqd's address as nsqlookupd sees its TCP
	// connection ("10.0.0.5:51234").
	RemoteAddress    string `json:"remote_address"`
	Hostname         string `json:"hostname"`
	BroadcastAddress string `json:"broadcast_address"`
	TCPPort          int    `json:"tcp_port"`
	HTTPPort         int    `json:"http_port"`
	Version          string `json:"version"`
}

// Lookup is GET /lookup?topic=: the topic's channels and the active,
// non-tombstoned nsqd that have it.
type Lookup struct {
	Channels  []string `json:"channels"`
	Producers []Peer   `json:"producers"`
}

// Nodes is GET /nodes: every active nsqd.
type Nodes struct {
	Producers []Node `json:"producers"`
}

// Node is one nsqd in Nodes: the Peer's keys (the embedded struct's
// fields encode inline, first), then Tombstones[i], whether Topics[i] is
// tombstoned on this node.
type Node struct {
	Peer
	Tombstones []bool   `json:"tombstones"`
	Topics     []string `json:"topics"`
}

// DebugProducer is one producer of one registration in GET /debug, whose
// document maps "category:key:subkey" to a list of them (as
// map[string][]DebugProducer). LastUpdate and TombstonedAt are Unix
// nanoseconds; TombstonedAt of a producer never tombstoned is what Go's
// zero time.Time gives, as upstream.
type DebugProducer struct {
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	ID               string `json:"id"`
	LastUpdate       int64  `json:"last_update"`
	TCPPort          int    `json:"tcp_port"`
	Tombstoned       bool   `json:"tombstoned"`
	TombstonedAt     int64  `json:"tombstoned_at"`
	Version          string `json:"version"`
}

// Identity is the IDENTIFY body in both directions, keys sorted as
// upstream's map encoding writes them: an nsqd sends its own (nsqlookupd
// decodes it as a Peer, so a "remote_address" key is accepted and then
// replaced), and nsqlookupd answers with its own.
type Identity struct {
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	TCPPort          int    `json:"tcp_port"`
	Version          string `json:"version"`
}
