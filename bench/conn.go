package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/snappy"

	"github.com/nsqfast/nsq/wire"
)

// ConnOptions configures Dial. Zero values mean the defaults given on each
// field.
type ConnOptions struct {
	// ClientID is sent in IDENTIFY (client_id and hostname). Default
	// "nsq_bench".
	ClientID string
	// OutputBufferSize and OutputBufferTimeout (milliseconds) are sent in
	// IDENTIFY: 0 keeps the broker's default (upstream: 16 KiB and 250 ms,
	// go-nsq sends the same), -1 disables, as the protocol defines.
	OutputBufferSize, OutputBufferTimeout int
	// BufferSize is the size of the read buffer and the write threshold:
	// appends flush once this many bytes are pending. Default 64 KiB.
	BufferSize int
	// DialTimeout bounds the connect and the IDENTIFY exchange. Default 5s.
	DialTimeout time.Duration
	// Transport negotiates TLS and/or compression after IDENTIFY.
	Transport Transport
	// LocalAddr, if not nil, is the source address to dial from (several
	// 127.0.0.x sources give one client more connections to one loopback
	// listener than the ephemeral port range allows).
	LocalAddr *net.TCPAddr
}

// Transport is what a connection negotiates in IDENTIFY, as go-nsq does:
// TLS (the broker's certificate is not verified: the bench measures, it
// does not authenticate), then snappy or deflate.
type Transport struct {
	TLS     bool `json:"tls"`
	Snappy  bool `json:"snappy"`
	Deflate int  `json:"deflate"` // level 1-9; 0 = off
}

// Any reports whether anything is negotiated.
func (t Transport) Any() bool { return t.TLS || t.Snappy || t.Deflate > 0 }

func (o *ConnOptions) setDefaults() {
	if o.ClientID == "" {
		o.ClientID = "nsq_bench"
	}
	if o.BufferSize <= 0 {
		o.BufferSize = 64 << 10
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
}

// Conn is one V2 client connection, built for load generation: commands are
// appended to an output buffer that is written when it passes BufferSize or
// before the connection blocks on a read; frames are parsed in place from a
// read buffer; heartbeats are answered without the caller seeing them. In
// its steady state (PUB/MPUB/FIN out, OK/messages in) it does not allocate.
//
// A Conn is owned by one goroutine. Close and SetReadDeadline may be called
// from another goroutine to stop it, as net.Conn allows.
type Conn struct {
	nc       net.Conn
	rd       io.Reader    // nc, or the TLS/decompressing stream over it
	wr       io.Writer    // nc, or the TLS/compressing stream over it
	fl       func() error // flushes wr's compressor; nil when plain
	out      []byte
	flushAt  int
	in       []byte
	r, w     int   // in[r:w] is received and not yet parsed
	readTime int64 // Now() when the last read returned
}

// Dial connects to a V2 broker, sends the magic and IDENTIFY, and waits for
// the answer.
func Dial(ctx context.Context, addr string, o ConnOptions) (*Conn, error) {
	o.setDefaults()
	d := net.Dialer{Timeout: o.DialTimeout}
	if o.LocalAddr != nil {
		d.LocalAddr = o.LocalAddr
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := newConn(nc, o)
	tr := o.Transport
	ident, _ := json.Marshal(map[string]any{
		"client_id":             o.ClientID,
		"hostname":              o.ClientID,
		"user_agent":            "nsq_bench/1.0",
		"feature_negotiation":   tr.Any(),
		"tls_v1":                tr.TLS,
		"snappy":                tr.Snappy,
		"deflate":               tr.Deflate > 0,
		"deflate_level":         tr.Deflate,
		"output_buffer_size":    o.OutputBufferSize,
		"output_buffer_timeout": o.OutputBufferTimeout,
	})
	c.out = append(c.out, wire.MagicV2...)
	c.out = wire.AppendIdentify(c.out, ident)
	_ = nc.SetDeadline(time.Now().Add(o.DialTimeout))
	if err := c.identify(tr); err != nil {
		nc.Close()
		return nil, fmt.Errorf("IDENTIFY: %w", err)
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// identify reads the IDENTIFY answer and performs the upgrades it agreed
// to, reading the OK that follows each.
func (c *Conn) identify(tr Transport) error {
	if !tr.Any() {
		return c.ExpectOK()
	}
	ft, data, err := c.Next()
	if err != nil {
		return err
	}
	if ft != wire.FrameTypeResponse {
		return fmt.Errorf("%s", data)
	}
	var resp struct {
		TLS     bool `json:"tls_v1"`
		Snappy  bool `json:"snappy"`
		Deflate bool `json:"deflate"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("IDENTIFY answer %q: %w", data, err)
	}
	if resp.TLS != tr.TLS || resp.Snappy != tr.Snappy || resp.Deflate != (tr.Deflate > 0) {
		return fmt.Errorf("broker did not agree to %+v: %s", tr, data)
	}
	var base io.ReadWriter = c.nc
	var in io.Reader = c.nc
	if tr.TLS {
		if c.r != c.w {
			return errors.New("bytes after the IDENTIFY answer before the TLS handshake")
		}
		tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // measuring, not authenticating
		if err := tc.Handshake(); err != nil {
			return err
		}
		base, in, c.rd, c.wr = tc, tc, tc, tc
		if err := c.ExpectOK(); err != nil {
			return err
		}
	}
	if c.r != c.w {
		// The compressed stream (its OK) came in the same read as the
		// IDENTIFY answer: the decompressor starts with those bytes.
		in = io.MultiReader(bytes.NewReader(append([]byte(nil), c.in[c.r:c.w]...)), in)
		c.r, c.w = 0, 0
	}
	switch {
	case tr.Snappy:
		sw := snappy.NewBufferedWriter(base)
		c.rd, c.wr, c.fl = snappy.NewReader(in), sw, sw.Flush
	case tr.Deflate > 0:
		fw, err := flate.NewWriter(base, tr.Deflate)
		if err != nil {
			return err
		}
		c.rd, c.wr, c.fl = flate.NewReader(in), fw, fw.Flush
	default:
		return nil
	}
	return c.ExpectOK()
}

func newConn(nc net.Conn, o ConnOptions) *Conn {
	return &Conn{
		nc:      nc,
		rd:      nc,
		wr:      nc,
		out:     make([]byte, 0, o.BufferSize+4096),
		flushAt: o.BufferSize,
		in:      make([]byte, o.BufferSize),
	}
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// SetReadDeadline sets the underlying connection's read deadline; a
// goroutine blocked in Next returns a timeout error when it passes.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// ReadTime is Now() when the last read from the network returned: the
// receive time of every frame that read brought in.
func (c *Conn) ReadTime() int64 { return c.readTime }

// Pending is the number of bytes appended and not yet written.
func (c *Conn) Pending() int { return len(c.out) }

// Flush writes everything appended so far.
func (c *Conn) Flush() error {
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.wr.Write(c.out)
	c.out = c.out[:0]
	if err == nil && c.fl != nil {
		err = c.fl()
	}
	return err
}

func (c *Conn) maybeFlush() error {
	if len(c.out) >= c.flushAt {
		return c.Flush()
	}
	return nil
}

// PUB appends a PUB command.
func (c *Conn) PUB(topic string, body []byte) error {
	c.out = wire.AppendPUB(c.out, topic, body)
	return c.maybeFlush()
}

// MPUB appends an MPUB command.
func (c *Conn) MPUB(topic string, bodies [][]byte) error {
	c.out = wire.AppendMPUB(c.out, topic, bodies)
	return c.maybeFlush()
}

// SUB appends a SUB command.
func (c *Conn) SUB(topic, channel string) error {
	c.out = wire.AppendSUB(c.out, topic, channel)
	return c.maybeFlush()
}

// RDY appends a RDY command.
func (c *Conn) RDY(n int64) error {
	c.out = wire.AppendRDY(c.out, n)
	return c.maybeFlush()
}

// FIN appends a FIN command.
func (c *Conn) FIN(id *wire.MessageID) error {
	c.out = wire.AppendFIN(c.out, *id)
	return c.maybeFlush()
}

// CLS appends a CLS command.
func (c *Conn) CLS() error {
	c.out = wire.AppendCLS(c.out)
	return c.maybeFlush()
}

var heartbeat = []byte(wire.ResponseHeartbeat)

// Buffered reports whether a whole frame is already in the read buffer, so
// Next will return without touching the network.
func (c *Conn) Buffered() bool {
	b := c.in[c.r:c.w]
	return len(b) >= 4 && len(b)-4 >= int(binary.BigEndian.Uint32(b))
}

// Next returns the next frame other than a heartbeat (heartbeats are
// answered with NOP). When no whole frame is buffered it first writes what
// is pending, then reads. data aliases the read buffer and is valid until
// the next call. Error frames are returned as frames; see wire.FrameError.
func (c *Conn) Next() (frameType int32, data []byte, err error) {
	for {
		if c.r < c.w {
			ft, d, n, err := wire.ParseFrame(c.in[c.r:c.w])
			if err != nil {
				return 0, nil, err
			}
			if n > 0 {
				c.r += n
				if ft == wire.FrameTypeResponse && bytes.Equal(d, heartbeat) {
					c.out = wire.AppendNOP(c.out)
					continue
				}
				return ft, d, nil
			}
		}
		if err := c.Flush(); err != nil {
			return 0, nil, err
		}
		if err := c.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// fill reads at least one byte after compacting the buffer, growing it for
// a frame larger than the buffer.
func (c *Conn) fill() error {
	if c.r > 0 {
		c.w = copy(c.in, c.in[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.in) { // one frame larger than the buffer
		size := 4 + int(binary.BigEndian.Uint32(c.in))
		bigger := make([]byte, max(size, 2*len(c.in)))
		copy(bigger, c.in[:c.w])
		c.in = bigger
	}
	n, err := c.rd.Read(c.in[c.w:])
	c.readTime = Now()
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = errors.New("bench: empty read")
	}
	return err
}

// ExpectOK flushes, reads the next frame and fails unless it is "OK".
func (c *Conn) ExpectOK() error {
	ft, data, err := c.Next()
	if err != nil {
		return err
	}
	return CheckOK(ft, data)
}

// CheckOK returns nil for an "OK" response frame and an error describing
// any other frame.
func CheckOK(ft int32, data []byte) error {
	switch {
	case ft == wire.FrameTypeResponse && string(data) == wire.ResponseOK:
		return nil
	case ft == wire.FrameTypeError:
		return wire.FrameError(data)
	default:
		return fmt.Errorf("bench: unexpected frame type %d: %.64q", ft, data)
	}
}
