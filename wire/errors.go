package wire

import "fmt"

// Error is a protocol error sent to a client in an error frame.
//
// A non-fatal error (upstream's ClientErr) is reported and the connection
// stays open; a fatal one (upstream's FatalClientErr) is reported and then
// the connection is closed. The frame carries Error(), that is the code, a
// space and the description.
//
// Values returned by this package are freshly allocated and owned by the
// caller. Functions return *Error rather than error so that callers can read
// Fatal without a type assertion; keep them in *Error variables, since a nil
// *Error stored in an error interface is not a nil error.
type Error struct {
	Code  string // machine-readable code, one of the Code* constants
	Desc  string // human-readable description
	Fatal bool   // close the connection after sending the frame

	// silent marks errors upstream does not report at all: it closes the
	// connection without writing an error frame.
	silent bool
}

// Error returns the error-frame text: Code, a space, Desc.
func (e *Error) Error() string { return e.Code + " " + e.Desc }

// Silent reports whether upstream closes the connection without sending
// anything for this error. Callers must then skip the error frame and just
// close. Only ErrLineTooLong is silent.
func (e *Error) Silent() bool { return e.silent }

// NewError returns a non-fatal error: the client is told and the connection
// stays open.
func NewError(code, desc string) *Error { return &Error{Code: code, Desc: desc} }

// NewFatalError returns a fatal error: the client is told and the connection
// is closed.
func NewFatalError(code, desc string) *Error {
	return &Error{Code: code, Desc: desc, Fatal: true}
}

// The error codes nsqd v1.3.0 sends (nsqd/protocol_v2.go).
const (
	CodeInvalid        = "E_INVALID"         // bad command, parameters or state
	CodeBadBody        = "E_BAD_BODY"        // bad IDENTIFY/AUTH/MPUB body
	CodeBadTopic       = "E_BAD_TOPIC"       // invalid topic name
	CodeBadChannel     = "E_BAD_CHANNEL"     // invalid channel name
	CodeBadMessage     = "E_BAD_MESSAGE"     // bad PUB/DPUB/MPUB message
	CodePubFailed      = "E_PUB_FAILED"      // PUB could not be stored
	CodeMPubFailed     = "E_MPUB_FAILED"     // MPUB could not be stored
	CodeDPubFailed     = "E_DPUB_FAILED"     // DPUB could not be stored
	CodeFinFailed      = "E_FIN_FAILED"      // FIN of an unknown or foreign message (non-fatal)
	CodeReqFailed      = "E_REQ_FAILED"      // REQ of an unknown or foreign message (non-fatal)
	CodeTouchFailed    = "E_TOUCH_FAILED"    // TOUCH of an unknown or foreign message (non-fatal)
	CodeSubFailed      = "E_SUB_FAILED"      // SUB could not join the channel
	CodeIdentifyFailed = "E_IDENTIFY_FAILED" // feature negotiation failed
	CodeAuthFailed     = "E_AUTH_FAILED"     // auth server unreachable or refused
	CodeAuthFirst      = "E_AUTH_FIRST"      // auth enabled and the client has not sent AUTH
	CodeAuthError      = "E_AUTH_ERROR"      // AUTH response could not be sent
	CodeAuthDisabled   = "E_AUTH_DISABLED"   // AUTH sent to a server without auth
	CodeUnauthorized   = "E_UNAUTHORIZED"    // no permission for the topic/channel
)

// Reasons the upstream channel gives when FIN, REQ or TOUCH fail; they follow
// "FIN <id> failed " and the like in E_FIN_FAILED, E_REQ_FAILED and
// E_TOUCH_FAILED errors (nsqd/channel.go).
const (
	ReasonNotInFlight = "ID not in flight"
	ReasonNotOwner    = "client does not own message"
	ReasonExiting     = "exiting"
)

// ErrLineTooLong is returned by ParseCommand when no newline appears within
// MaxLineLength bytes. Upstream's 16 KiB line reader fails and the
// connection is closed without an error frame, so this error is Silent.
func ErrLineTooLong() *Error {
	return &Error{Code: CodeInvalid, Desc: "command line too long", Fatal: true, silent: true}
}

func fatalf(code, format string, args ...any) *Error {
	return &Error{Code: code, Desc: fmt.Sprintf(format, args...), Fatal: true}
}

// ErrInvalidState is upstream's fatal E_INVALID "cannot <CMD> in current
// state", sent when IDENTIFY, AUTH, SUB, RDY, FIN, REQ, TOUCH or CLS arrives
// in a state that does not allow it.
func ErrInvalidState(kind CommandKind) *Error {
	return fatalf(CodeInvalid, "cannot %s in current state", kind.String())
}

// ErrTLSRequired is the fatal E_INVALID "cannot <name> in current state (TLS
// required)" upstream sends for any command but IDENTIFY while --tls-required
// is set and the connection is not yet TLS. name is the command word as
// received, whatever it is.
func ErrTLSRequired(name []byte) *Error {
	return fatalf(CodeInvalid, "cannot %s in current state (TLS required)", name)
}

// ErrSubHeartbeatsDisabled is the fatal E_INVALID for a SUB on a connection
// that disabled heartbeats with IDENTIFY (heartbeat_interval -1).
func ErrSubHeartbeatsDisabled() *Error {
	return fatalf(CodeInvalid, "cannot SUB with heartbeats disabled")
}

// ErrSubFailed is the fatal E_SUB_FAILED "SUB failed <reason>", e.g. when the
// channel refuses the consumer (see ErrSubTooManyConsumers).
func ErrSubFailed(reason string) *Error {
	return fatalf(CodeSubFailed, "SUB failed %s", reason)
}

// ErrSubTooManyConsumers is the SUB failure when --max-channel-consumers is
// reached.
func ErrSubTooManyConsumers(topic, channel string, limit int) *Error {
	return ErrSubFailed(fmt.Sprintf("consumers for %s:%s exceeds limit of %d", topic, channel, limit))
}

// ErrSubExiting is the SUB failure when the ephemeral topic or channel is
// being deleted (upstream retries once before sending it; the text, typo
// included, is upstream's).
func ErrSubExiting() *Error {
	return fatalf(CodeSubFailed, "SUB failed to deleted topic/channel")
}

// ErrRDYOutOfRange is the fatal E_INVALID for a RDY count below 0 or above
// --max-rdy-count.
func ErrRDYOutOfRange(count, max int64) *Error {
	return fatalf(CodeInvalid, "RDY count %d out of range 0-%d", count, max)
}

// ErrInvalidMessageID is the fatal E_INVALID sent by FIN, REQ and TOUCH when
// the ID parameter is not 16 bytes long.
func ErrInvalidMessageID() *Error {
	return fatalf(CodeInvalid, "invalid message ID")
}

// ErrFINFailed is the non-fatal E_FIN_FAILED "FIN <id> failed <reason>";
// reason is usually ReasonNotInFlight or ReasonNotOwner.
func ErrFINFailed(id []byte, reason string) *Error {
	return NewError(CodeFinFailed, fmt.Sprintf("FIN %s failed %s", id, reason))
}

// ErrREQFailed is the non-fatal E_REQ_FAILED "REQ <id> failed <reason>".
func ErrREQFailed(id []byte, reason string) *Error {
	return NewError(CodeReqFailed, fmt.Sprintf("REQ %s failed %s", id, reason))
}

// ErrTOUCHFailed is the non-fatal E_TOUCH_FAILED "TOUCH <id> failed <reason>".
func ErrTOUCHFailed(id []byte, reason string) *Error {
	return NewError(CodeTouchFailed, fmt.Sprintf("TOUCH %s failed %s", id, reason))
}

// ErrPUBFailed is the fatal E_PUB_FAILED "PUB failed <reason>" sent when the
// topic cannot take the message (reason is usually ReasonExiting).
func ErrPUBFailed(reason string) *Error { return fatalf(CodePubFailed, "PUB failed %s", reason) }

// ErrMPUBFailed is the fatal E_MPUB_FAILED "MPUB failed <reason>".
func ErrMPUBFailed(reason string) *Error { return fatalf(CodeMPubFailed, "MPUB failed %s", reason) }

// ErrDPUBFailed is the fatal E_DPUB_FAILED "DPUB failed <reason>".
func ErrDPUBFailed(reason string) *Error { return fatalf(CodeDPubFailed, "DPUB failed %s", reason) }

// ErrIdentifyDecode is the fatal E_BAD_BODY sent when the IDENTIFY body is
// not a JSON document of the expected shape.
func ErrIdentifyDecode() *Error {
	return fatalf(CodeBadBody, "IDENTIFY failed to decode JSON body")
}

// ErrIdentifyBadValue is the fatal E_BAD_BODY "IDENTIFY <what> (<value>) is
// invalid" for an out-of-range IDENTIFY setting; what is one of "heartbeat
// interval", "output buffer timeout", "output buffer size", "sample rate" or
// "msg timeout". IdentifyRequest.Apply returns these.
func ErrIdentifyBadValue(what string, value int64) *Error {
	return fatalf(CodeBadBody, "IDENTIFY %s (%d) is invalid", what, value)
}

// ErrIdentifyDeflateAndSnappy is the fatal E_IDENTIFY_FAILED sent when a
// client negotiates both compressions.
func ErrIdentifyDeflateAndSnappy() *Error {
	return fatalf(CodeIdentifyFailed, "cannot enable both deflate and snappy compression")
}

// ErrIdentifyFailed is the fatal E_IDENTIFY_FAILED "IDENTIFY failed <reason>"
// sent when the response cannot be written or a TLS, snappy or deflate
// upgrade fails.
func ErrIdentifyFailed(reason string) *Error {
	return fatalf(CodeIdentifyFailed, "IDENTIFY failed %s", reason)
}

// ErrAuthAlreadySet is the fatal E_INVALID for a second successful AUTH.
func ErrAuthAlreadySet() *Error { return fatalf(CodeInvalid, "AUTH already set") }

// ErrAuthDisabled is the fatal E_AUTH_DISABLED for AUTH on a server without
// --auth-http-address.
func ErrAuthDisabled() *Error { return fatalf(CodeAuthDisabled, "AUTH disabled") }

// ErrAuthFailed is the fatal E_AUTH_FAILED sent when the auth server cannot
// be queried; the cause is logged, never sent.
func ErrAuthFailed() *Error { return fatalf(CodeAuthFailed, "AUTH failed") }

// ErrAuthNoAuthorizations is the fatal E_UNAUTHORIZED sent when the auth
// server grants nothing.
func ErrAuthNoAuthorizations() *Error {
	return fatalf(CodeUnauthorized, "AUTH no authorizations found")
}

// ErrAuthError is the fatal E_AUTH_ERROR "AUTH error <reason>" sent when the
// AUTH response cannot be written.
func ErrAuthError(reason string) *Error { return fatalf(CodeAuthError, "AUTH error %s", reason) }

// ErrAuthFirst is the fatal E_AUTH_FIRST "AUTH required before <cmd>" for
// SUB, PUB, MPUB or DPUB before AUTH on a server with auth enabled.
func ErrAuthFirst(cmd string) *Error {
	return fatalf(CodeAuthFirst, "AUTH required before %s", cmd)
}

// ErrAuthUnauthorized is the fatal E_UNAUTHORIZED "AUTH failed for <cmd> on
// "<topic>" "<channel>"" sent when the client's authorizations do not cover
// the topic/channel (channel is "" for the publish commands).
func ErrAuthUnauthorized(cmd, topic, channel string) *Error {
	return fatalf(CodeUnauthorized, "AUTH failed for %s on %q %q", cmd, topic, channel)
}
