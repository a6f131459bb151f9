package engine

import "github.com/tensorchain/transport/codec"

// How TLS input is read with tlsstate's own record layer: each record is
// opened in place in gnet's buffer and the frames inside it are decoded
// straight from there, so a frame that fits in a record is copied once,
// into its message. Only what must outlive the record is copied to
// rd.plain: the start of a frame that continues in the next record, or
// frames held back by a pause. An incomplete record at the end of the
// input is kept by the Session, so nothing is ever left in gnet (whose
// Peek would then copy).

// readInPlace opens the records buffered in gnet and decodes their frames.
func (c *conn) readInPlace() error {
	defer c.rd.plain.release() // idle connections hold no buffer
	paused, err := c.decodePlain()
	if err != nil {
		return err
	}
	var in []byte
	if c.sock.InboundBuffered() > 0 {
		in, _ = c.sock.Peek(-1)
	}
	used, err := c.openRecords(in, paused)
	c.discard(used) // only now: the records' contents lie in these bytes
	return err
}

// openRecords opens every record in in (and any the Session kept from
// the handshake), and returns how many bytes of in it consumed.
func (c *conn) openRecords(in []byte, paused bool) (int, error) {
	used := 0
	for {
		rec, n, err := c.tls.Open(in[used:])
		used += n
		if err != nil {
			return used, c.tlsReadError(err)
		}
		if rec == nil && n == 0 {
			break
		}
		if len(c.rd.plain.data()) == 0 && !paused {
			u, p, err := c.processFrames(rec)
			if err != nil {
				return used, err
			}
			rec, paused = rec[u:], p
		}
		if len(rec) == 0 {
			continue
		}
		c.rd.plain.set(append(c.rd.plain.reserve(len(rec)), rec...))
		if !paused {
			if paused, err = c.decodePlain(); err != nil {
				return used, err
			}
		}
	}
	if paused {
		return used, c.checkBacklog(len(c.rd.plain.data()))
	}
	return used, nil
}

// decodePlain decodes the frames held in rd.plain, unless the inbox is
// full, and reports whether delivery is paused. A partial frame left at
// the front gets room for all of it at once.
func (c *conn) decodePlain() (bool, error) {
	plain := &c.rd.plain
	if c.rd.paused() == inboxFull {
		return true, c.checkBacklog(len(plain.data()))
	}
	if len(plain.data()) == 0 {
		return false, nil
	}
	used, paused, err := c.processFrames(plain.data())
	plain.consume(used)
	if err != nil || paused {
		return paused, err
	}
	if rest := plain.data(); len(rest) >= 4 {
		return false, c.roomForFrame(plain, codec.FrameSize(rest))
	}
	return false, nil
}
