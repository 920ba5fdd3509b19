package wire

import (
	"encoding/json"
	"time"
)

// IdentifyRequest is the JSON body of IDENTIFY, with upstream's field names
// and types (so decoding accepts and rejects exactly what upstream does:
// unknown keys, such as the short_id and long_id of old clients, are
// ignored, and keys match case-insensitively).
//
// For the integer settings, 0 means "keep the current value" and, where
// allowed, -1 means "disable"; see Apply.
type IdentifyRequest struct {
	ClientID            string `json:"client_id"`             // shown in stats
	Hostname            string `json:"hostname"`              // shown in stats
	HeartbeatInterval   int    `json:"heartbeat_interval"`    // ms; -1 disables, else 1000..max
	OutputBufferSize    int    `json:"output_buffer_size"`    // bytes; -1 disables buffering, else 64..max
	OutputBufferTimeout int    `json:"output_buffer_timeout"` // ms; -1 disables, else min..max
	FeatureNegotiation  bool   `json:"feature_negotiation"`   // answer with IdentifyResponse, not "OK"
	TLSv1               bool   `json:"tls_v1"`                // wants TLS
	Deflate             bool   `json:"deflate"`               // wants deflate compression
	DeflateLevel        int    `json:"deflate_level"`         // wanted deflate level; <= 0 means the default
	Snappy              bool   `json:"snappy"`                // wants snappy compression
	SampleRate          int32  `json:"sample_rate"`           // percent of messages to receive, 0..99 (0 = all)
	UserAgent           string `json:"user_agent"`            // shown in stats
	MsgTimeout          int    `json:"msg_timeout"`           // ms; 0 keeps the default, else 1000..max
}

// ParseIdentify decodes an IDENTIFY body. A body that is not valid JSON of
// this shape gives upstream's fatal E_BAD_BODY "IDENTIFY failed to decode
// JSON body". It allocates; IDENTIFY is not a hot path.
func ParseIdentify(body []byte) (IdentifyRequest, *Error) {
	var r IdentifyRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return IdentifyRequest{}, ErrIdentifyDecode()
	}
	return r, nil
}

// DefaultOutputBufferSize is a connection's output buffer size until
// IDENTIFY changes it.
const DefaultOutputBufferSize = 16 * 1024

// ClientSettings are the per-connection values IDENTIFY can change. A zero
// duration means disabled.
type ClientSettings struct {
	HeartbeatInterval   time.Duration // server heartbeat period; reads time out after twice this
	OutputBufferSize    int           // bytes buffered before a flush; 1 means unbuffered
	OutputBufferTimeout time.Duration // longest a buffered message waits for a flush
	SampleRate          int32         // percent of messages delivered; 0 means all
	MsgTimeout          time.Duration // in-flight timeout of messages sent to this client
}

// DefaultClientSettings returns the settings of a new connection, from the
// server options: heartbeats every --client-timeout/2 (upstream's
// ClientTimeout, 60s by default), DefaultOutputBufferSize,
// --output-buffer-timeout and --msg-timeout.
func DefaultClientSettings(clientTimeout, outputBufferTimeout, msgTimeout time.Duration) ClientSettings {
	return ClientSettings{
		HeartbeatInterval:   clientTimeout / 2,
		OutputBufferSize:    DefaultOutputBufferSize,
		OutputBufferTimeout: outputBufferTimeout,
		MsgTimeout:          msgTimeout,
	}
}

// IdentifyLimits are the server options that bound IDENTIFY settings.
type IdentifyLimits struct {
	MaxHeartbeatInterval   time.Duration // --max-heartbeat-interval (60s)
	MaxOutputBufferSize    int64         // --max-output-buffer-size (64 KiB)
	MinOutputBufferTimeout time.Duration // --min-output-buffer-timeout (25ms)
	MaxOutputBufferTimeout time.Duration // --max-output-buffer-timeout (30s)
	MaxMsgTimeout          time.Duration // --max-msg-timeout (15m)
}

// DefaultIdentifyLimits returns upstream's defaults.
func DefaultIdentifyLimits() IdentifyLimits {
	return IdentifyLimits{
		MaxHeartbeatInterval:   60 * time.Second,
		MaxOutputBufferSize:    64 * 1024,
		MinOutputBufferTimeout: 25 * time.Millisecond,
		MaxOutputBufferTimeout: 30 * time.Second,
		MaxMsgTimeout:          15 * time.Minute,
	}
}

func millis(d time.Duration) int { return int(d / time.Millisecond) }

// Apply returns cur updated by the request, checking each setting as
// upstream does and in its order: heartbeat interval, output buffer timeout,
// output buffer size, sample rate, msg timeout. The first bad one gives the
// fatal E_BAD_BODY "IDENTIFY <setting> (<value>) is invalid". IDENTIFY may
// be sent more than once before SUB; each applies on top of the last.
func (r *IdentifyRequest) Apply(cur ClientSettings, lim *IdentifyLimits) (ClientSettings, *Error) {
	s := cur
	switch hb := r.HeartbeatInterval; {
	case hb == -1:
		s.HeartbeatInterval = 0
	case hb == 0:
	case hb >= 1000 && hb <= millis(lim.MaxHeartbeatInterval):
		s.HeartbeatInterval = time.Duration(hb) * time.Millisecond
	default:
		return cur, ErrIdentifyBadValue("heartbeat interval", int64(hb))
	}

	switch t := r.OutputBufferTimeout; {
	case t == -1:
		s.OutputBufferTimeout = 0
	case t == 0:
	case t >= millis(lim.MinOutputBufferTimeout) && t <= millis(lim.MaxOutputBufferTimeout):
		s.OutputBufferTimeout = time.Duration(t) * time.Millisecond
	default:
		return cur, ErrIdentifyBadValue("output buffer timeout", int64(t))
	}

	switch size := r.OutputBufferSize; {
	case size == -1:
		// No buffering: every write goes straight out, so no flush timer.
		s.OutputBufferSize = 1
		s.OutputBufferTimeout = 0
	case size == 0:
	case size >= 64 && size <= int(lim.MaxOutputBufferSize):
		s.OutputBufferSize = size
	default:
		return cur, ErrIdentifyBadValue("output buffer size", int64(size))
	}

	if r.SampleRate < 0 || r.SampleRate > 99 {
		return cur, ErrIdentifyBadValue("sample rate", int64(r.SampleRate))
	}
	s.SampleRate = r.SampleRate

	switch t := r.MsgTimeout; {
	case t == 0:
	case t >= 1000 && t <= millis(lim.MaxMsgTimeout):
		s.MsgTimeout = time.Duration(t) * time.Millisecond
	default:
		return cur, ErrIdentifyBadValue("msg timeout", int64(t))
	}
	return s, nil
}

// ServerFeatures describe what the server offers in feature negotiation.
type ServerFeatures struct {
	TLS             bool          // a TLS certificate is configured (--tls-cert, --tls-key)
	Deflate         bool          // --deflate
	MaxDeflateLevel int           // --max-deflate-level
	Snappy          bool          // --snappy
	AuthRequired    bool          // --auth-http-address is set
	MaxRdyCount     int64         // --max-rdy-count
	MaxMsgTimeout   time.Duration // --max-msg-timeout
	Version         string        // reported version, e.g. "1.3.0"
}

// DefaultDeflateLevel is the deflate level used when the client asks for
// deflate without a level.
const DefaultDeflateLevel = 6

// Negotiate computes the IDENTIFY response for a request with
// FeatureNegotiation set (without it upstream answers "OK"), given the
// server's features and the client's settings after Apply. A feature is on
// when both sides want it. The deflate level is the client's (or 6),
// capped at MaxDeflateLevel. Asking for both deflate and snappy, when both
// are enabled, is the fatal ErrIdentifyDeflateAndSnappy.
//
// After sending the response, the server upgrades the connection in this
// order, answering "OK" after each: TLS, snappy, deflate.
func (r *IdentifyRequest) Negotiate(srv *ServerFeatures, cs ClientSettings) (IdentifyResponse, *Error) {
	resp := IdentifyResponse{
		MaxRdyCount:         srv.MaxRdyCount,
		Version:             srv.Version,
		MaxMsgTimeout:       int64(srv.MaxMsgTimeout / time.Millisecond),
		MsgTimeout:          int64(cs.MsgTimeout / time.Millisecond),
		TLSv1:               srv.TLS && r.TLSv1,
		Deflate:             srv.Deflate && r.Deflate,
		DeflateLevel:        DefaultDeflateLevel,
		MaxDeflateLevel:     srv.MaxDeflateLevel,
		Snappy:              srv.Snappy && r.Snappy,
		SampleRate:          cs.SampleRate,
		AuthRequired:        srv.AuthRequired,
		OutputBufferSize:    cs.OutputBufferSize,
		OutputBufferTimeout: int64(cs.OutputBufferTimeout / time.Millisecond),
	}
	if resp.Deflate && r.DeflateLevel > 0 {
		resp.DeflateLevel = r.DeflateLevel
	}
	resp.DeflateLevel = min(resp.DeflateLevel, srv.MaxDeflateLevel)
	if resp.Deflate && resp.Snappy {
		return IdentifyResponse{}, ErrIdentifyDeflateAndSnappy()
	}
	return resp, nil
}

// IdentifyResponse is the JSON document nsqd sends in answer to an IDENTIFY
// with feature_negotiation. Fields are in upstream's order, which
// encoding/json keeps; durations are in milliseconds.
type IdentifyResponse struct {
	MaxRdyCount         int64  `json:"max_rdy_count"`         // --max-rdy-count
	Version             string `json:"version"`               // server version
	MaxMsgTimeout       int64  `json:"max_msg_timeout"`       // --max-msg-timeout, ms
	MsgTimeout          int64  `json:"msg_timeout"`           // this client's message timeout, ms
	TLSv1               bool   `json:"tls_v1"`                // the connection upgrades to TLS next
	Deflate             bool   `json:"deflate"`               // the connection upgrades to deflate
	DeflateLevel        int    `json:"deflate_level"`         // negotiated deflate level
	MaxDeflateLevel     int    `json:"max_deflate_level"`     // --max-deflate-level
	Snappy              bool   `json:"snappy"`                // the connection upgrades to snappy
	SampleRate          int32  `json:"sample_rate"`           // this client's sample rate, percent
	AuthRequired        bool   `json:"auth_required"`         // the client must send AUTH
	OutputBufferSize    int    `json:"output_buffer_size"`    // this client's output buffer, bytes
	OutputBufferTimeout int64  `json:"output_buffer_timeout"` // this client's flush timeout, ms
}

// AppendJSON appends the response's JSON encoding, as upstream marshals it.
func (r *IdentifyResponse) AppendJSON(dst []byte) []byte { return appendJSON(dst, r) }

// AuthResponse is the JSON document nsqd sends after a successful AUTH.
type AuthResponse struct {
	Identity        string `json:"identity"`         // as the auth server reported it
	IdentityURL     string `json:"identity_url"`     // as the auth server reported it
	PermissionCount int    `json:"permission_count"` // number of authorizations granted
}

// AppendJSON appends the response's JSON encoding, as upstream marshals it.
func (r *AuthResponse) AppendJSON(dst []byte) []byte { return appendJSON(dst, r) }

func appendJSON(dst []byte, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Unreachable: both documents are plain structs of strings, numbers
		// and booleans.
		panic("wire: " + err.Error())
	}
	return append(dst, b...)
}
