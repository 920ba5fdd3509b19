// Package migrate imports the data path of an upstream NSQ v1.3.0 nsqd
// (its nsqd.dat and diskqueue files) into this project's storage, so that
// nsqd can be pointed at an upstream --data-path and serve its backlog.
//
// # What upstream leaves on disk
//
//   - nsqd.dat: JSON {"topics":[{"name","paused","channels":[{"name","paused"}]}],"version"}
//     listing every non-ephemeral topic and channel.
//   - One diskqueue per topic (named after the topic) and per channel
//     (named "<topic>:<channel>"): files <name>.diskqueue.NNNNNN.dat (six
//     digits) holding records of a 4-byte big-endian length followed by that
//     many bytes, and <name>.diskqueue.meta.dat, text of three lines:
//     depth, then "readFileNum,readPos", then "writeFileNum,writePos".
//   - Each record is a message: 8-byte big-endian timestamp (ns), 2-byte
//     big-endian attempts, 16-byte ID, body.
//
// A topic's own queue holds what it has not yet copied to its channels; a
// channel's queue holds what only that channel still has to deliver.
// Whatever upstream held in memory is in these files only after a clean
// shutdown (SIGTERM flushes memory, in-flight and deferred messages to
// disk); after a crash it is gone, and no importer can bring it back.
//
// # The mapping
//
// Each upstream topic becomes one topic log. Channel backlogs are appended
// first, then the topic's backlog. Every channel's cursor starts where the
// topic backlog starts, so it delivers all of it. One channel, the one with
// the largest backlog, has the never-delivered part of its backlog placed
// right before the topic's and its cursor at the start of it; every other
// channel backlog (and that channel's messages with attempts > 0, which a
// cursor could not carry) becomes pending entries of the checkpoint, which
// the engine delivers to that channel alone. A topic with no channel holds its backlog for its first
// channel. Paused flags are kept: a paused topic's pause point is the start
// of its backlog, so channels still deliver their own backlogs. Message IDs
// become the log's sequence numbers (upstream IDs are not kept); timestamps
// and attempts are. Deferred delivery is not kept, as upstream does not keep
// it across restarts either.
//
// # Crash safety
//
// Import builds every topic under <data-path>/.import-tmp/, syncs it, then
// writes a journal (.import-tmp/journal.json) naming the topics to move:
// before the journal exists a restart discards the staging directory and
// starts again; after, it finishes the moves. Each move is one rename into
// topics/. Only when every topic is in place is nsqd.dat renamed to
// nsqd.dat.imported, and with no nsqd.dat there is nothing to import. No
// message is therefore lost or imported twice, whatever the point of a crash.
// Upstream's files are only read; they stay where they are.
package migrate
