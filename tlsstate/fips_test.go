package tlsstate

import (
	"os"
	"os/exec"
	"testing"
)

// TestFIPSOnlyKeepsCryptoTLSRecords: in FIPS 140-only mode crypto/cipher
// refuses GCM with nonces the caller builds, so the engine's record layer
// cannot start; the Session must keep crypto/tls's records instead of
// failing a handshake crypto/tls has completed. The mode is fixed at
// process start, so the test runs itself in a child with GODEBUG set.
func TestFIPSOnlyKeepsCryptoTLSRecords(t *testing.T) {
	if os.Getenv("TLSSTATE_FIPS_CHILD") == "1" {
		c, s := securePair(t)
		if c.InPlace() || s.InPlace() {
			t.Fatal("the engine's record layer started in FIPS 140-only mode")
		}
		got := decryptAll(t, s, send(t, c, []byte("fips")), func() int { return 1 << 20 })
		mustEqual(t, "data over crypto/tls's records", got, []byte("fips"))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSOnlyKeepsCryptoTLSRecords$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=only", "TLSSTATE_FIPS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child in FIPS 140-only mode: %v\n%s", err, out)
	}
}
