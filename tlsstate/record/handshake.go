package record

// Post-handshake message types (RFC 8446 §4).
const (
	msgNewSessionTicket = 4
	msgKeyUpdate        = 24
)

// onHandshake takes the content of a handshake record: whole messages,
// or pieces of one that spans records.
func (l *Layer) onHandshake(content []byte) error {
	if len(content) == 0 {
		return l.fail(alertf(AlertUnexpectedMessage, "empty handshake record"))
	}
	l.hs = append(l.hs, content...) // copied: content lies in the caller's buffer
	for len(l.hs) >= 4 {
		n := int(l.hs[1])<<16 | int(l.hs[2])<<8 | int(l.hs[3])
		if n > maxHandshake {
			return l.fail(alertf(AlertUnexpectedMessage, "post-handshake message of %d bytes (at most %d)", n, maxHandshake))
		}
		if len(l.hs) < 4+n {
			break
		}
		endsRecord := len(l.hs) == 4+n
		if err := l.onMessage(l.hs[0], l.hs[4:4+n], endsRecord); err != nil {
			return err
		}
		l.hs = l.hs[4+n:]
	}
	if len(l.hs) == 0 {
		l.hs = nil
	}
	return nil
}

// onMessage acts on one whole post-handshake message.
func (l *Layer) onMessage(typ byte, body []byte, endsRecord bool) error {
	switch typ {
	case msgNewSessionTicket:
		if !l.client {
			return l.fail(alertf(AlertUnexpectedMessage, "NewSessionTicket sent to a server"))
		}
		return l.noData() // ignored: nodes do not resume sessions
	case msgKeyUpdate:
		if err := l.noData(); err != nil {
			return err
		}
		return l.onKeyUpdate(body, endsRecord)
	}
	return l.fail(alertf(AlertUnexpectedMessage, "post-handshake message of type %d", typ))
}

// onKeyUpdate moves the read side to the peer's next secret and, when
// the peer asks, answers with a KeyUpdate of this side's own.
func (l *Layer) onKeyUpdate(body []byte, endsRecord bool) error {
	if !endsRecord { // RFC 8446 §5.1: messages must not span a key change
		return l.fail(alertf(AlertUnexpectedMessage, "KeyUpdate not at the end of its record"))
	}
	if len(body) != 1 {
		return l.fail(alertf(AlertDecodeError, "KeyUpdate of %d bytes", len(body)))
	}
	if body[0] > 1 {
		return l.fail(alertf(AlertIllegalParameter, "KeyUpdate request_update %d", body[0]))
	}
	if err := l.in.update(); err != nil {
		return l.fail(alertf(AlertInternalError, "KeyUpdate: %v", err))
	}
	l.asked = false
	l.updIn.Add(1)
	if l.totals != nil {
		l.totals.Received.Add(1)
	}
	if body[0] == 1 { // answered once, before this side's next record, however many ask
		l.mu.Lock()
		l.owed = l.writeErr == nil
		l.mu.Unlock()
	}
	return nil
}

// sealOwed appends the KeyUpdate the peer asked for, if one is owed, to
// dst. Under mu.
func (l *Layer) sealOwed(dst []byte) []byte {
	if !l.owed {
		return dst
	}
	l.owed = false
	dst, err := l.keyUpdate(dst, false)
	if err != nil {
		l.endOutput(err)
	}
	return dst
}

// keyUpdate appends a KeyUpdate sealed with the current write key to dst
// and moves the write side to the next secret. Under mu.
func (l *Layer) keyUpdate(dst []byte, request bool) ([]byte, error) {
	msg := []byte{msgKeyUpdate, 0, 0, 1, 0}
	if request {
		msg[4] = 1
	}
	dst, ok := l.out.seal(dst, typeHandshake, msg)
	if !ok {
		return dst, alertf(AlertInternalError, "write sequence number exhausted")
	}
	if err := l.out.update(); err != nil {
		return dst, alertf(AlertInternalError, "KeyUpdate: %v", err)
	}
	l.updOut.Add(1)
	if l.totals != nil {
		l.totals.Sent.Add(1)
	}
	return dst, nil
}
