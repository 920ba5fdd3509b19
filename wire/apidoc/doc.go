// Package apidoc holds the documents nsqd's HTTP API answers with, shaped
// exactly as NSQ v1.3.0 emits them: the /stats document (JSON and the
// plain-text rendering), the /info document and the error document.
//
// Key names, key order and omitempty flags are part of the wire contract:
// tools such as nsqadmin and nsq_stat decode these documents, and some
// scripts compare them textually. Field order in each struct is therefore
// the order upstream's encoder writes, and must not be changed.
//
// # Envelope
//
// Since v1.0.0 nsqd has one response form (the one older releases gave for
// "Accept: application/vnd.nsq; version=1.0"): a successful call answers
// with the bare document (or a bare string such as "OK", or nothing), a
// failed one with Message ({"message":"TOPIC_NOT_FOUND"}) and the status
// code. The pre-1.0 {"status_code":..,"status_txt":..,"data":..} wrapper is
// gone from v1.3.0, whatever the request's Accept header says.
//
// The package is pure: it does no I/O and imports only the standard
// library. Values are plain data; they are not safe for concurrent mutation.
package apidoc

// Message is the body of every failed V1 response, and of the 404 and 405
// answers of the router.
type Message struct {
	Message string `json:"message"`
}

// Info is the /info document.
//
// The durations are encoded as integer nanoseconds, as upstream's
// time.Duration fields are.
type Info struct {
	Version                string `json:"version"`
	BroadcastAddress       string `json:"broadcast_address"`
	Hostname               string `json:"hostname"`
	HTTPPort               int    `json:"http_port"`
	TCPPort                int    `json:"tcp_port"`
	StartTime              int64  `json:"start_time"`
	MaxHeartbeatInterval   int64  `json:"max_heartbeat_interval"`
	MaxOutputBufferSize    int64  `json:"max_output_buffer_size"`
	MaxOutputBufferTimeout int64  `json:"max_output_buffer_timeout"`
	MaxDeflateLevel        int    `json:"max_deflate_level"`
}
