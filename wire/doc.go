// Package wire holds the pure codecs of the NSQ V2 TCP protocol as spoken by
// nsqd v1.3.0: command parsing with upstream's exact validation order, error
// texts and fatality; frame, message and error-frame writers; message IDs;
// topic and channel name validation; and the IDENTIFY and AUTH documents.
//
// Codecs do no I/O. Parsers take the bytes received so far and report how
// many make up one whole command, or that more are needed; writers append to
// a caller-owned slice (AppendX(dst, ...) []byte) so a connection can reuse
// one output buffer. The hot paths (ParseCommand, the Parse* parameter
// helpers, AppendFrame, AppendMessage, IDFromUint64, Uint64FromID and the name
// checks) never allocate; tests prove it with testing.AllocsPerRun. Error
// paths do allocate: they build the text the client receives.
//
// The only I/O is ReadFrame in client.go, a helper for tests and tools that
// act as NSQ clients.
//
// Everything in the package is safe for concurrent use: the functions are
// pure, and the package has no mutable state. A Command value is owned by the
// caller that passes it to ParseCommand and must not be shared while in use.
//
// The package imports only the standard library.
package wire
