package record

import (
	"crypto/hkdf"
	"encoding/binary"
	"hash"
)

// expandLabel is HKDF-Expand-Label (RFC 8446 §7.1): HKDF-Expand of secret
// with the HkdfLabel {length, "tls13 " + label, context}.
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, length int) ([]byte, error) {
	const prefix = "tls13 "
	info := make([]byte, 0, 2+1+len(prefix)+len(label)+1+len(context))
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = append(info, byte(len(prefix)+len(label)))
	info = append(info, prefix...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	return hkdf.Expand(h, secret, string(info), length)
}

// trafficKeys derives a direction's write key and IV from its traffic
// secret (RFC 8446 §7.3).
func trafficKeys(s *suite, secret []byte) (key, iv []byte, err error) {
	if key, err = expandLabel(s.hash, secret, "key", nil, s.keyLen); err != nil {
		return nil, nil, err
	}
	if iv, err = expandLabel(s.hash, secret, "iv", nil, nonceLen); err != nil {
		return nil, nil, err
	}
	return key, iv, nil
}

// nextSecret is application_traffic_secret_N+1 (RFC 8446 §7.2).
func nextSecret(s *suite, secret []byte) ([]byte, error) {
	return expandLabel(s.hash, secret, "traffic upd", nil, s.hashLen)
}
