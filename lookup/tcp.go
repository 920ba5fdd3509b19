package lookup

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"time"

	"github.com/nsqfast/nsq/lookup/registry"
	"github.com/nsqfast/nsq/wire"
	"github.com/nsqfast/nsq/wire/lookupdoc"
	"github.com/nsqfast/nsq/wire/lookupv1"
)

// v1Conn is one V1 connection; it is owned by its goroutine.
type v1Conn struct {
	l    *NSQLookupd
	conn net.Conn
	addr string         // remote address: the peer's ID
	peer *registry.Peer // set by IDENTIFY
	cmd  lookupv1.Command
	out  []byte
}

// serveConn runs one connection until it ends, then removes the peer's
// registrations, as upstream.
func (l *NSQLookupd) serveConn(conn net.Conn) {
	addr := conn.RemoteAddr().String()
	l.logf(LogInfo, "TCP: new client(%s)", addr)
	var magic [len(lookupv1.Magic)]byte
	if _, err := io.ReadFull(conn, magic[:]); err != nil {
		l.logf(LogError, "failed to read protocol version - %s", err)
		return
	}
	l.logf(LogInfo, "CLIENT(%s): desired protocol magic '%s'", addr, magic[:])
	if string(magic[:]) != lookupv1.Magic {
		_, _ = conn.Write(lookupv1.AppendResponseString(nil, lookupv1.BadProtocol))
		l.logf(LogError, "client(%s) bad protocol magic '%s'", addr, magic[:])
		return
	}
	c := &v1Conn{l: l, conn: conn, addr: addr}
	err := c.loop()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		l.logf(LogError, "client(%s) - %s", addr, err)
	}
	l.logf(LogInfo, "PROTOCOL(V1): [%s] exiting ioloop", addr)
	if c.peer != nil {
		for _, r := range l.db.LookupRegistrations(c.peer.ID) {
			if removed, _ := l.db.RemoveProducer(r, c.peer.ID); removed {
				l.logf(LogInfo, "DB: client(%s) UNREGISTER category:%s key:%s subkey:%s", addr, r.Category, r.Key, r.SubKey)
			}
		}
	}
}

// loop reads, runs and answers commands. Every answer to one read goes out
// in one write. It returns when the peer goes away, a write fails or a
// command fails (every V1 error is fatal).
func (c *v1Conn) loop() error {
	buf := make([]byte, 0, 4096)
	for {
		n, rerr := c.conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		off := 0
		var fatal *wire.Error
		for fatal == nil {
			used, perr := lookupv1.Next(buf[off:], c.peer != nil, &c.l.limits, &c.cmd)
			if perr != nil {
				fatal = perr
				break
			}
			if used == 0 {
				break
			}
			off += used
			fatal = c.exec()
		}
		if fatal == nil && rerr != nil {
			// What upstream answers to an IDENTIFY cut short.
			fatal = lookupv1.IncompleteError(buf[off:], c.peer != nil, &c.l.limits)
		}
		if fatal != nil && !fatal.Silent() {
			c.l.logf(LogError, "[%s] - %s", c.addr, fatal)
			c.out = lookupv1.AppendResponseString(c.out, fatal.Error())
		}
		if len(c.out) > 0 {
			_, werr := c.conn.Write(c.out)
			c.out = c.out[:0]
			if werr != nil {
				return werr
			}
		}
		if fatal != nil {
			return fatal
		}
		if rerr != nil {
			return rerr
		}
		// Keep the unparsed tail; grow for a command that does not fit.
		rest := copy(buf, buf[off:])
		buf = buf[:rest]
		if rest == cap(buf) {
			buf = append(buf, 0)[:rest]
		}
	}
}

// exec runs c.cmd and appends its answer; an error is to be sent instead.
func (c *v1Conn) exec() *wire.Error {
	cmd := &c.cmd
	switch cmd.Kind {
	case lookupv1.CmdPing:
		if c.peer != nil {
			now := time.Now()
			last := time.Unix(0, c.peer.LastUpdate())
			c.l.logf(LogInfo, "CLIENT(%s): pinged (last ping %s)", c.peer.ID, now.Sub(last))
			c.peer.Touch(now)
		}
		c.out = lookupv1.AppendResponseString(c.out, lookupv1.OK)
	case lookupv1.CmdIdentify:
		return c.identify()
	case lookupv1.CmdRegister:
		return c.register()
	case lookupv1.CmdUnregister:
		return c.unregister()
	default:
		return lookupv1.ErrInvalidCommand(cmd.Name)
	}
	return nil
}

func (c *v1Conn) identify() *wire.Error {
	if c.peer != nil {
		return lookupv1.ErrIdentifyAgain()
	}
	info, err := lookupv1.ParseIdentify(c.cmd.Body, c.addr)
	if err != nil {
		return err
	}
	c.l.logf(LogInfo, "CLIENT(%s): IDENTIFY Address:%s TCP:%d HTTP:%d Version:%s",
		c.addr, info.BroadcastAddress, info.TCPPort, info.HTTPPort, info.Version)
	c.peer = registry.NewPeer(c.addr, info, time.Now())
	c.add(registry.Registration{Category: registry.CategoryClient})

	resp, merr := json.Marshal(lookupdoc.Identity{
		BroadcastAddress: c.l.opts.BroadcastAddress,
		Hostname:         c.l.hostname,
		HTTPPort:         c.l.HTTPAddr().Port,
		TCPPort:          c.l.TCPAddr().Port,
		Version:          Version,
	})
	if merr != nil {
		c.l.logf(LogError, "marshaling IDENTIFY response - %s", merr)
		resp = []byte(lookupv1.OK)
	}
	c.out = lookupv1.AppendResponse(c.out, resp)
	return nil
}

// add registers the peer as a producer of r, logging a new registration.
func (c *v1Conn) add(r registry.Registration) {
	if c.l.db.AddProducer(r, c.peer) {
		c.l.logf(LogInfo, "DB: client(%s) REGISTER category:%s key:%s subkey:%s", c.addr, r.Category, r.Key, r.SubKey)
	}
}

func (c *v1Conn) register() *wire.Error {
	if c.peer == nil {
		return lookupv1.ErrNotIdentified()
	}
	topic, channel, err := lookupv1.TopicChannel(&c.cmd)
	if err != nil {
		return err
	}
	if channel != nil {
		c.add(registry.Registration{Category: registry.CategoryChannel, Key: string(topic), SubKey: string(channel)})
	}
	c.add(registry.Registration{Category: registry.CategoryTopic, Key: string(topic)})
	c.out = lookupv1.AppendResponseString(c.out, lookupv1.OK)
	return nil
}

func (c *v1Conn) unregister() *wire.Error {
	if c.peer == nil {
		return lookupv1.ErrNotIdentified()
	}
	topicB, channelB, err := lookupv1.TopicChannel(&c.cmd)
	if err != nil {
		return err
	}
	db, id, topic := c.l.db, c.peer.ID, string(topicB)
	if channelB != nil {
		r := registry.Registration{Category: registry.CategoryChannel, Key: topic, SubKey: string(channelB)}
		removed, left := db.RemoveProducer(r, id)
		if removed {
			c.l.logf(LogInfo, "DB: client(%s) UNREGISTER category:%s key:%s subkey:%s", c.addr, r.Category, r.Key, r.SubKey)
		}
		// An ephemeral channel goes away with its last producer.
		if left == 0 && wire.IsEphemeral(channelB) {
			db.RemoveRegistration(r)
		}
	} else {
		// A topic unregistration takes the peer out of the topic's
		// channels too; nsqd unregisters those first, so finding any here
		// is unexpected.
		for _, r := range db.FindRegistrations(registry.CategoryChannel, topic, registry.Wildcard) {
			if removed, _ := db.RemoveProducer(r, id); removed {
				c.l.logf(LogWarn, "client(%s) unexpected UNREGISTER category:%s key:%s subkey:%s", c.addr, r.Category, r.Key, r.SubKey)
			}
		}
		r := registry.Registration{Category: registry.CategoryTopic, Key: topic}
		removed, left := db.RemoveProducer(r, id)
		if removed {
			c.l.logf(LogInfo, "DB: client(%s) UNREGISTER category:%s key:%s subkey:%s", c.addr, r.Category, r.Key, r.SubKey)
		}
		if left == 0 && wire.IsEphemeral(topicB) {
			db.RemoveRegistration(r)
		}
	}
	c.out = lookupv1.AppendResponseString(c.out, lookupv1.OK)
	return nil
}
