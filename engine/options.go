package engine

import (
	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/wire/lg"

	"errors"
	"fmt"
	"time"
)

// Options configures an Engine. The zero value of each field means its
// documented default, applied by Validate.
type Options struct {
	// DataPath is the directory that holds every durable topic. Required
	// unless every topic is ephemeral; default "." (upstream's default is the
	// working directory).
	DataPath string

	// NodeID is nsqd's --node-id, in [0, 1024): the top 10 bits of every
	// message ID, so that nsqd with different node IDs never hand out the
	// same ID (upstream's GUIDs carry it the same way). Default 0.
	NodeID int64

	// MemQueueSize bounds what an ephemeral topic or channel holds before it
	// drops messages (upstream's --mem-queue-size). Durable topics keep every
	// message on disk regardless. Default 10000.
	MemQueueSize int64

	// MaxBytesPerFile is the size of one topic log segment. Default 100 MiB.
	MaxBytesPerFile int64

	// SyncEvery bounds how far a topic's acknowledged messages may run
	// ahead of its log's last completed sync (msync/fsync): at most
	// SyncEvery-1 acknowledged messages of a topic are not on stable
	// storage at any moment; a publish that would make it SyncEvery waits
	// for a sync before its OK (group commit: every publish waiting shares
	// one sync). 1 means no OK before the message is on stable storage.
	// A sync starts once a topic is half of it ahead. Default 2500.
	SyncEvery int64

	// SyncTimeout is the longest an acknowledged message stays unsynced
	// (every SyncTimeout each topic's log is synced), and the interval at
	// which channel checkpoints are written. Default 2s.
	SyncTimeout time.Duration

	// FS is the file system that durable topics, their metadata and
	// checkpoints live on; nil means the operating system's (queue.OS()).
	// For tests: queue/strictfs simulates power loss.
	FS queue.FS

	// MsgTTL (ours, nsqd --msg-ttl) is how long a message may wait: one
	// published longer ago is not delivered but counted as expired. A
	// topic's own setting (Topic.SetTTL) overrides it. Default 0: forever.
	MsgTTL time.Duration

	// MaxAttempts (ours, nsqd --max-attempts) is how many times a channel
	// delivers a message: one that comes back (REQ, timeout) after that
	// many deliveries goes to the channel's dead-letter topic instead
	// (deadletter.go). A channel's own setting overrides it. Default 0:
	// no limit.
	MaxAttempts uint16

	// QueueScanInterval is how often in-flight timeouts and deferred
	// messages are checked. Default 100ms.
	QueueScanInterval time.Duration

	// MsgTimeout is the default in-flight timeout. Default 60s.
	MsgTimeout time.Duration
	// MaxMsgTimeout caps a client's msg_timeout and TOUCH. Default 15m.
	MaxMsgTimeout time.Duration
	// MaxReqTimeout caps REQ and DPUB delays. Default 1h.
	MaxReqTimeout time.Duration

	// RetentionAge keeps consumed log segments until their newest message
	// is this old, for replay (Channel.Rewind); 0 = no age retention.
	RetentionAge time.Duration
	// RetentionBytes keeps consumed log segments of a topic while the
	// topic's log is no larger than this; 0 = no size retention. With both
	// retention settings, a consumed segment goes when either limit is
	// passed; with neither, as soon as every channel has finished it.
	RetentionBytes int64

	// MaxChannelConsumers limits consumers per channel; 0 means no limit.
	MaxChannelConsumers int

	// E2EPercentiles are the end-to-end processing latency percentiles
	// (each in (0, 1]) that channel and topic stats report; none means no
	// latency is recorded. Default none.
	E2EPercentiles []float64
	// E2EWindow is the window those percentiles cover. Default 10m.
	E2EWindow time.Duration

	// OnChange, if set, is told when topics and channels are created or
	// deleted (nsqlookupd registration). It is called from whichever
	// goroutine made the change, possibly an event loop, with no engine
	// lock held: it must not block.
	OnChange func(Change)

	// Logf receives log lines; nil discards them.
	Logf func(level LogLevel, format string, args ...any)
}

// LogLevel orders log lines: upstream's levels, one type for every daemon
// (wire/lg).
type LogLevel = lg.Level

// Log levels, least severe first.
const (
	LogDebug = lg.Debug
	LogInfo  = lg.Info
	LogWarn  = lg.Warn
	LogError = lg.Error
	LogFatal = lg.Fatal
)

// Validate applies defaults and checks ranges.
func (o *Options) Validate() error {
	if o.DataPath == "" {
		o.DataPath = "."
	}
	if o.NodeID < 0 || o.NodeID >= 1<<idNodeBits {
		return fmt.Errorf("node-id %d is out of range, must be in [0,%d)", o.NodeID, 1<<idNodeBits)
	}
	if o.MemQueueSize < 0 {
		return errors.New("mem-queue-size must be >= 0")
	}
	if o.MemQueueSize == 0 {
		o.MemQueueSize = 10000
	}
	if o.MaxBytesPerFile == 0 {
		o.MaxBytesPerFile = 100 << 20
	}
	if o.MaxBytesPerFile < 1024 {
		return fmt.Errorf("max-bytes-per-file %d is too small", o.MaxBytesPerFile)
	}
	if o.SyncEvery <= 0 {
		o.SyncEvery = 2500
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = 2 * time.Second
	}
	if o.QueueScanInterval <= 0 {
		o.QueueScanInterval = 100 * time.Millisecond
	}
	if o.MsgTimeout <= 0 {
		o.MsgTimeout = 60 * time.Second
	}
	if o.MaxMsgTimeout <= 0 {
		o.MaxMsgTimeout = 15 * time.Minute
	}
	if o.MaxReqTimeout <= 0 {
		o.MaxReqTimeout = time.Hour
	}
	if o.RetentionAge < 0 || o.RetentionBytes < 0 {
		return errors.New("retention-age and retention-bytes must be >= 0")
	}
	if o.MaxChannelConsumers < 0 {
		return errors.New("max-channel-consumers must be >= 0")
	}
	for _, p := range o.E2EPercentiles {
		if !(p > 0 && p <= 1) {
			return fmt.Errorf("invalid E2E processing latency percentile: %v", p)
		}
	}
	if o.E2EWindow <= 0 {
		o.E2EWindow = 10 * time.Minute
	}
	return nil
}

func (e *Engine) logf(level LogLevel, format string, args ...any) {
	if e.opts.Logf != nil {
		e.opts.Logf(level, format, args...)
	}
}

// ChangeKind says what happened to a topic or channel.
type ChangeKind uint8

// Change kinds.
const (
	TopicCreated ChangeKind = iota + 1
	TopicDeleted
	ChannelCreated
	ChannelDeleted
)

// Change is one creation or deletion; Channel is "" for topic changes.
type Change struct {
	Kind    ChangeKind
	Topic   string
	Channel string
}

func (e *Engine) changed(kind ChangeKind, topic, channel string) {
	if e.opts.OnChange != nil {
		e.opts.OnChange(Change{Kind: kind, Topic: topic, Channel: channel})
	}
}
