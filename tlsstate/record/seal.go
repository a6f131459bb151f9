package record

// SealedLen bounds what Seal appends for n bytes of content, pending
// output aside: per record of up to MaxPlaintext bytes, its overhead and
// room for a KeyUpdate in front of it, should its key be due to rotate.
func SealedLen(n int) int {
	return n + (n/MaxPlaintext+1)*(Overhead+keyUpdateLen)
}

const keyUpdateLen = HeaderLen + 5 + 1 + tagLen // a KeyUpdate record

// Seal appends to dst the pending output (KeyUpdate replies, alerts) and
// then plain, sealed as application data in records of at most
// MaxPlaintext bytes, and returns the extended dst. When the write key has
// protected KeyUpdateInterval records, a KeyUpdate goes first. After Close
// or a fatal alert it appends only what is pending and returns the sticky
// error. Any goroutine, serialized with UpdateKeys and Close.
func (l *Layer) Seal(dst, plain []byte) ([]byte, error) { return l.seal(dst, plain, false) }

// SealOwned is Seal for content the caller owns outright, such as a send
// queue's buffer: the byte after each record's content, within
// cap(plain), is borrowed for the record's inner content type while the
// record is encrypted straight from plain into dst, and put back, so the
// content is not copied first. Nothing else may read or write plain or
// its spare capacity during the call; dst must not overlap them.
func (l *Layer) SealOwned(dst, plain []byte) ([]byte, error) { return l.seal(dst, plain, true) }

func (l *Layer) seal(dst, plain []byte, owned bool) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ask && len(plain) > 0 && l.writeErr == nil { // a request rides in front of data only (askIfDue), and answers one owed too
		_ = l.queueUpdate(true)
	}
	dst = l.takePending(dst)
	if l.writeErr != nil {
		return dst, l.writeErr
	}
	for len(plain) > 0 {
		if l.out.seq >= l.interval {
			var err error
			if dst, err = l.keyUpdate(dst, false); err != nil {
				l.endOutput(err)
				return dst, err
			}
		}
		n := min(len(plain), MaxPlaintext)
		var ok bool
		if owned && cap(plain) > n {
			dst, ok = l.out.sealBorrowing(dst, typeApplicationData, plain[:n])
		} else {
			dst, ok = l.out.seal(dst, typeApplicationData, plain[:n])
		}
		if !ok {
			l.endOutput(alertf(AlertInternalError, "write sequence number exhausted"))
			return dst, l.writeErr
		}
		plain = plain[n:]
	}
	return dst, nil
}

// UpdateKeys queues a KeyUpdate and moves the write side to its next
// secret; with requestPeer the peer is asked to update its own. The
// record goes out with the next Seal or TakePending.
func (l *Layer) UpdateKeys(requestPeer bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writeErr != nil {
		return l.writeErr
	}
	return l.queueUpdate(requestPeer)
}

// queueUpdate seals a KeyUpdate into the pending output; it also answers
// a request the peer made. Under mu.
func (l *Layer) queueUpdate(requestPeer bool) error {
	l.owed = false
	if requestPeer {
		l.ask = false
	}
	var err error
	if l.pending, err = l.keyUpdate(l.pending, requestPeer); err != nil {
		l.endOutput(err)
	}
	return err
}

// Close queues a close_notify alert; later Seals fail with ErrClosed.
// Idempotent; after a fatal alert it adds nothing.
func (l *Layer) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writeErr != nil {
		return
	}
	l.pending = l.sealOwed(l.pending)
	l.pending, _ = l.out.seal(l.pending, typeAlert, []byte{1, byte(AlertCloseNotify)})
	l.endOutput(ErrClosed)
}

// HasPending reports whether sealed records wait for TakePending or Seal.
func (l *Layer) HasPending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending) > 0 || l.owed
}

// TakePending appends the pending records to dst and forgets them.
func (l *Layer) TakePending(dst []byte) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.takePending(dst)
}

func (l *Layer) takePending(dst []byte) []byte {
	l.pending = l.sealOwed(l.pending)
	if len(l.pending) == 0 {
		return dst
	}
	dst = append(dst, l.pending...)
	l.pending = nil // rare: an idle layer keeps no buffer
	return dst
}
