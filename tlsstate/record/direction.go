package record

import (
	"crypto/cipher"
	"math"
	"slices"
)

// Record sizes (RFC 8446 §5.1, §5.2).
const (
	// HeaderLen is the length of a record header: type, version, length.
	HeaderLen = 5
	// MaxPlaintext is the most content one record carries.
	MaxPlaintext = 1 << 14
	// Overhead is what a sealed record adds to its content: the header,
	// the inner content type and the AEAD tag.
	Overhead = HeaderLen + 1 + tagLen

	maxCiphertext = MaxPlaintext + 256
	tagLen        = 16 // all three suites
	nonceLen      = 12 // all three suites
)

// Content types (RFC 8446 §5.1).
const (
	typeChangeCipherSpec = 20
	typeAlert            = 21
	typeHandshake        = 22
	typeApplicationData  = 23
)

// direction is one direction's traffic protection: the current secret,
// its AEAD and IV, and the sequence number of the next record.
type direction struct {
	suite  *suite
	secret []byte
	aead   cipher.AEAD
	iv     [nonceLen]byte
	nonce  [nonceLen]byte
	seq    uint64
}

func newDirection(s *suite, secret []byte) (*direction, error) {
	d := &direction{suite: s}
	return d, d.setSecret(slices.Clone(secret))
}

// setSecret installs a traffic secret (owned from now on) and restarts
// the sequence at 0.
func (d *direction) setSecret(secret []byte) error {
	key, iv, err := trafficKeys(d.suite, secret)
	if err != nil {
		return err
	}
	aead, err := d.suite.aead(key)
	clear(key)
	if err != nil {
		return err
	}
	clear(d.secret)
	d.secret, d.aead, d.seq = secret, aead, 0
	copy(d.iv[:], iv)
	return nil
}

// update moves to the next traffic secret (a KeyUpdate).
func (d *direction) update() error {
	next, err := nextSecret(d.suite, d.secret)
	if err != nil {
		return err
	}
	return d.setSecret(next)
}

// wipe forgets the keys.
func (d *direction) wipe() {
	clear(d.secret)
	clear(d.iv[:])
	d.aead = nil
}

// nextNonce returns the nonce of the next record and counts it. The
// sequence number never wraps: the last one is refused.
func (d *direction) nextNonce() ([]byte, bool) {
	if d.seq == math.MaxUint64 {
		return nil, false
	}
	d.nonce = d.iv
	for i := range 8 {
		d.nonce[nonceLen-1-i] ^= byte(d.seq >> (8 * i))
	}
	d.seq++
	return d.nonce[:], true
}

// seal appends one record whose content is plain (at most MaxPlaintext
// bytes) of inner type typ to dst. The content is copied after the header
// and encrypted in place there.
func (d *direction) seal(dst []byte, typ byte, plain []byte) ([]byte, bool) {
	dst, nonce, ok := d.header(dst, len(plain))
	if !ok {
		return dst, false
	}
	start := len(dst) - HeaderLen
	dst = append(append(dst, plain...), typ)
	body := dst[start+HeaderLen:]
	sealed := d.aead.Seal(body[:0], nonce, body, dst[start:start+HeaderLen])
	return dst[:start+HeaderLen+len(sealed)], true
}

// sealBorrowing is seal for content followed, within its capacity, by a
// byte it may borrow: the inner content type goes there for the time of
// the AEAD call, which encrypts straight from content into dst, and the
// byte is put back. dst's spare capacity must not overlap content.
func (d *direction) sealBorrowing(dst []byte, typ byte, content []byte) ([]byte, bool) {
	dst, nonce, ok := d.header(dst, len(content))
	if !ok {
		return dst, false
	}
	start := len(dst) - HeaderLen
	inner := content[:len(content)+1]
	saved := inner[len(content)]
	inner[len(content)] = typ
	sealed := d.aead.Seal(dst[len(dst):], nonce, inner, dst[start:])
	inner[len(content)] = saved
	return dst[:start+HeaderLen+len(sealed)], true
}

// header appends the header of a record of n bytes of content, with room
// for the whole record, and returns the record's nonce.
func (d *direction) header(dst []byte, n int) ([]byte, []byte, bool) {
	nonce, ok := d.nextNonce()
	if !ok {
		return dst, nil, false
	}
	size := n + 1 + tagLen
	dst = slices.Grow(dst, HeaderLen+size)
	return append(dst, typeApplicationData, 3, 3, byte(size>>8), byte(size)), nonce, true
}

// open decrypts the whole record rec (header included) in place and
// returns its inner content type and content, which alias rec.
func (d *direction) open(rec []byte) (byte, []byte, *Alert) {
	nonce, ok := d.nextNonce()
	if !ok {
		return 0, nil, alertf(AlertInternalError, "read sequence number exhausted")
	}
	body := rec[HeaderLen:]
	plain, err := d.aead.Open(body[:0], nonce, body, rec[:HeaderLen])
	if err != nil {
		return 0, nil, alertf(AlertBadRecordMAC, "record %d does not authenticate", d.seq-1)
	}
	if len(plain) > MaxPlaintext+1 { // content, type and padding together (§5.4)
		return 0, nil, alertf(AlertRecordOverflow, "record plaintext of %d bytes (at most %d)", len(plain), MaxPlaintext+1)
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 { // zero padding after the content type
		i--
	}
	if i < 0 {
		return 0, nil, alertf(AlertUnexpectedMessage, "record without a content type")
	}
	return plain[i], plain[:i], nil
}
