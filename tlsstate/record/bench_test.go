package record

import (
	"testing"
)

// BenchmarkSealOpen seals and opens 64 KiB (four full records) per
// iteration, in place, as the engine does: it should allocate nothing.
func BenchmarkSealOpen(b *testing.B) {
	for _, sc := range allSuites {
		b.Run(sc.name, func(b *testing.B) {
			c, s := pair(b, sc.id, 0)
			msg := make([]byte, 64<<10)
			buf := make([]byte, 0, SealedLen(len(msg)))
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				ct, err := c.Seal(buf[:0], msg)
				if err != nil {
					b.Fatal(err)
				}
				for len(ct) > 0 {
					_, n, err := s.Open(ct)
					if err != nil {
						b.Fatal(err)
					}
					ct = ct[n:]
				}
			}
		})
	}
}
