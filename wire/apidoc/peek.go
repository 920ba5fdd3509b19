package apidoc

// Peek is the document of GET /topic/peek and /channel/peek (ours: upstream
// has no such endpoints; docs/OPERATIONS.md, Browsing messages).
type Peek struct {
	Topic    string        `json:"topic"`
	Channel  string        `json:"channel,omitempty"`
	Skip     int           `json:"skip"`
	Messages []PeekMessage `json:"messages"`
	// More says the listing stopped at the response's byte bound before the
	// number asked for: page on with skip.
	More bool `json:"more"`
}

// PeekMessage is one message of a Peek.
type PeekMessage struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"` // publish time, ns since the epoch
	Attempts  uint16 `json:"attempts"`
	State     string `json:"state"`            // ready, in_flight or deferred
	DueAt     int64  `json:"due_at,omitempty"` // deferred: deliverable at; in flight: times out at (ns)
	Size      int    `json:"size"`             // of the whole body
	// Body is the body as text when it is valid UTF-8, else base64
	// (BodyEncoding "utf-8" or "base64"); cut to max_body bytes (Truncated).
	Body         string `json:"body"`
	BodyEncoding string `json:"body_encoding"`
	Truncated    bool   `json:"truncated,omitempty"`
	// OriginalID and OriginalAttempts are set for a message of a
	// dead-letter topic: its ID in the channel it left, and how often that
	// channel had delivered it.
	OriginalID       string `json:"original_id,omitempty"`
	OriginalAttempts uint16 `json:"original_attempts,omitempty"`
}
