package wire

import "time"

// parseBase10 reads an unsigned decimal the way upstream does: any byte that
// is not a digit fails, an empty input is 0, and overflow wraps silently.
func parseBase10(b []byte) (n uint64, ok bool) {
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// ParseRDY validates the parameters of RDY (cmd.Params, after the name). The
// count defaults to 1 when absent; an empty word counts as 0, as upstream.
// A count that does not parse is a fatal E_INVALID. The caller checks the
// range against --max-rdy-count (ErrRDYOutOfRange) and, before calling
// this, that the connection is subscribed: upstream ignores RDY silently
// after CLS and otherwise answers ErrInvalidState(CmdRdy) outside the
// subscribed state.
func ParseRDY(params [][]byte) (count int64, err *Error) {
	if len(params) < 1 {
		return 1, nil
	}
	v, ok := parseBase10(params[0])
	if !ok {
		return 0, fatalf(CodeInvalid, "RDY could not parse count %s", params[0])
	}
	return int64(v), nil
}

// ParseFIN validates the parameters of FIN and returns the message ID (16
// bytes, aliasing params). Both errors are fatal E_INVALID. The state check
// (subscribed or closing, else ErrInvalidState(CmdFin)) comes first and is
// the caller's.
func ParseFIN(params [][]byte) (id []byte, err *Error) {
	return parseIDParam(params, "FIN insufficient number of params")
}

// ParseTOUCH validates the parameters of TOUCH like ParseFIN.
func ParseTOUCH(params [][]byte) (id []byte, err *Error) {
	return parseIDParam(params, "TOUCH insufficient number of params")
}

func parseIDParam(params [][]byte, insufficient string) ([]byte, *Error) {
	if len(params) < 1 {
		return nil, NewFatalError(CodeInvalid, insufficient)
	}
	if len(params[0]) != MsgIDLength {
		return nil, ErrInvalidMessageID()
	}
	return params[0], nil
}

// ParseREQ validates the parameters of REQ and returns the message ID and
// the requested timeout, unclamped, computed with upstream's arithmetic
// (milliseconds times 1e6, wrapping on overflow). Upstream does not reject
// an out-of-range timeout: pass it through ClampReqTimeout. Errors are fatal
// E_INVALID. The state check is the caller's, as for FIN.
func ParseREQ(params [][]byte) (id []byte, timeout time.Duration, err *Error) {
	if len(params) < 2 {
		return nil, 0, fatalf(CodeInvalid, "REQ insufficient number of params")
	}
	if len(params[0]) != MsgIDLength {
		return nil, 0, ErrInvalidMessageID()
	}
	ms, ok := parseBase10(params[1])
	if !ok {
		return nil, 0, fatalf(CodeInvalid, "REQ could not parse timeout %s", params[1])
	}
	return params[0], time.Duration(ms) * time.Millisecond, nil
}

// ClampReqTimeout limits a REQ timeout to 0..max (--max-req-timeout), which
// is what upstream does instead of failing.
func ClampReqTimeout(timeout, max time.Duration) time.Duration {
	if timeout < 0 {
		return 0
	}
	if timeout > max {
		return max
	}
	return timeout
}

// ParseSUB validates the parameters of SUB and returns the topic and channel
// names (aliasing params). Errors are fatal: E_INVALID for a missing
// parameter, E_BAD_TOPIC and E_BAD_CHANNEL for invalid names. Upstream first
// checks the state (ErrInvalidState(CmdSub)) and that heartbeats are enabled
// (ErrSubHeartbeatsDisabled); those are the caller's, before this.
func ParseSUB(params [][]byte) (topic, channel []byte, err *Error) {
	if len(params) < 2 {
		return nil, nil, fatalf(CodeInvalid, "SUB insufficient number of parameters")
	}
	if !IsValidTopicName(params[0]) {
		return nil, nil, fatalf(CodeBadTopic, "SUB topic name %q is not valid", params[0])
	}
	if !IsValidChannelName(params[1]) {
		return nil, nil, fatalf(CodeBadChannel, "SUB channel name %q is not valid", params[1])
	}
	return params[0], params[1], nil
}
