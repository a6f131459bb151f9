package record

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// suite is what a TLS 1.3 cipher suite fixes for the record layer.
type suite struct {
	id      uint16
	hash    func() hash.Hash
	hashLen int
	keyLen  int
	aead    func(key []byte) (cipher.AEAD, error)
}

var suites = [...]suite{
	{tls.TLS_AES_128_GCM_SHA256, sha256.New, sha256.Size, 16, newGCM},
	{tls.TLS_AES_256_GCM_SHA384, sha512.New384, sha512.Size384, 32, newGCM},
	{tls.TLS_CHACHA20_POLY1305_SHA256, sha256.New, sha256.Size, chacha20poly1305.KeySize, chacha20poly1305.New},
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// suiteByID returns the suite with that id, or nil.
func suiteByID(id uint16) *suite {
	for i := range suites {
		if suites[i].id == id {
			return &suites[i]
		}
	}
	return nil
}

// Supports reports whether the layer implements the TLS 1.3 cipher suite
// id (a tls.TLS_* constant, as in tls.ConnectionState.CipherSuite).
func Supports(id uint16) bool { return suiteByID(id) != nil }
