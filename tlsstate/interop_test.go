package tlsstate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// loopResult is what runLoop saw.
type loopResult struct {
	hsErr     error // handshake error
	readErr   error // Decrypt error other than io.EOF
	eof       bool  // close_notify received
	kuReplies int   // Decrypts that produced output but no plaintext (KeyUpdate replies)
	received  []byte
}

// runLoop drives s over a real socket the way the engine's event loop does:
// this goroutine alone calls the Session; a reader goroutine only moves
// socket bytes into a channel. Every complete line received is answered
// with "echo:" + line. It returns when the peer closes.
func runLoop(nc net.Conn, s *Session, deadline time.Time) loopResult {
	var res loopResult
	reads := make(chan []byte, 16)
	go func() {
		defer close(reads)
		for {
			buf := make([]byte, 32<<10)
			n, err := nc.Read(buf)
			if n > 0 {
				reads <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	wake := make(chan struct{}, 1)
	done := make(chan error, 1)
	s.wake = func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	s.StartHandshake(context.Background(), nil, deadline, func(err error) { done <- err })
	flush := func() {
		if s.HasOutput() {
			_, _ = nc.Write(s.TakeOutput(nil))
		}
	}
	var pending, plain []byte
	established := false
	decrypt := func(in []byte) bool {
		pending = append(pending, in...)
		var used int
		var err error
		plain, used, err = s.Decrypt(plain[:0], pending, 0)
		pending = pending[:copy(pending, pending[used:])]
		if len(plain) == 0 && s.HasOutput() {
			res.kuReplies++
		}
		flush()
		res.received = append(res.received, plain...)
		for {
			i := bytes.IndexByte(res.received, '\n')
			if i < 0 {
				break
			}
			line := string(res.received[:i])
			res.received = res.received[i+1:]
			if e := s.Encrypt([]byte("echo:" + line + "\n")); e != nil {
				res.readErr = e
				return false
			}
			flush()
		}
		switch {
		case errors.Is(err, io.EOF):
			res.eof = true
			return false
		case err != nil:
			res.readErr = err
			return false
		}
		return true
	}
	defer func() {
		s.Close()
		flush()
		nc.Close()
		for range reads {
		}
	}()
	for {
		select {
		case b, ok := <-reads:
			if !ok {
				if !established {
					// The peer hung up mid-handshake: let the handshake
					// finish with what it was fed (it fails with the real
					// cause), then give up.
					select {
					case res.hsErr = <-done:
					case <-time.After(2 * time.Second):
						s.Close()
						res.hsErr = <-done
					}
				}
				return res
			}
			if !established {
				s.Feed(b)
			} else if !decrypt(b) {
				return res
			}
		case <-wake:
		case err := <-done:
			flush()
			if err != nil {
				res.hsErr = err
				return res
			}
			established = true
			if !decrypt(nil) {
				return res
			}
		}
		flush()
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback listener: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestInteropGoClient: an ordinary crypto/tls client, goroutine-per-conn,
// talks to a Strict server Session over a real socket.
func TestInteropGoClient(t *testing.T) {
	p := newPKI(t)
	ln := listen(t)
	results := make(chan loopResult, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			results <- loopResult{hsErr: err}
			return
		}
		s := NewSession(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server, nil)
		results <- runLoop(nc, s, time.Now().Add(10*time.Second))
	}()
	tc := p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2")
	conn, err := tls.Dial("tcp", ln.Addr().String(), tc)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	big := strings.Repeat("x", 100<<10)
	for _, line := range []string{"ping", big, "pong"} {
		if _, err := conn.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if got != "echo:"+line+"\n" {
			t.Fatalf("got %d bytes %.40q", len(got), got)
		}
	}
	conn.Close()
	res := <-results
	if res.hsErr != nil || res.readErr != nil || !res.eof {
		t.Fatalf("server loop: %+v", res)
	}
}

// openssl returns the path of the openssl binary or skips the test.
func openssl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: skipping the OpenSSL interop test")
	}
	return path
}

// TestInteropOpenSSLKeyUpdate: openssl s_client with a client certificate
// completes a handshake with a Strict server Session over a real socket and
// sends KeyUpdate(update_requested) twice ("K" command); the Session answers
// each from inside Decrypt (its output lands in the pending output) and the
// echo keeps working under the new keys. This pins the design's reliance on
// crypto/tls writing through the never-blocking adapter while reading.
func TestInteropOpenSSLKeyUpdate(t *testing.T) {
	bin := openssl(t)
	p := newPKI(t)
	dir := t.TempDir()
	cfg := p.node1.writeFiles(t, dir, "node1", formSEC1, p.ca)
	ln := listen(t)
	results := make(chan loopResult, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			results <- loopResult{hsErr: err}
			return
		}
		s := NewSession(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server, nil)
		results <- runLoop(nc, s, time.Now().Add(20*time.Second))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "s_client", "-connect", ln.Addr().String(), "-tls1_3",
		"-cert", cfg.CertPath, "-key", cfg.KeyPath, "-CAfile", cfg.CAPath, "-verify_return_error", "-servername", "node2")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := &syncBuffer{}
	cmd.Stdout = stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	expect := func(s string) {
		t.Helper()
		end := time.Now().Add(10 * time.Second)
		for !strings.Contains(stdout.String(), s) {
			if time.Now().After(end) {
				stdin.Close()
				_ = cmd.Wait()
				t.Fatalf("openssl output lacks %q\nstdout:\n%s\nstderr:\n%s", s, stdout.String(), stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, step := range []string{"hello", "K", "after-update-1", "K", "after-update-2"} {
		fmt.Fprintln(stdin, step)
		if step != "K" {
			expect("echo:" + step)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Logf("openssl exit: %v", err)
	}
	res := <-results
	if res.hsErr != nil || res.readErr != nil {
		t.Fatalf("server loop: %+v\nstderr:\n%s", res, stderr.String())
	}
	if res.kuReplies < 2 {
		t.Fatalf("KeyUpdate replies: %d, want 2\nstderr:\n%s", res.kuReplies, stderr.String())
	}
	t.Logf("KeyUpdate replies sent: %d; openssl stderr mentions KEYUPDATE %d times", res.kuReplies, strings.Count(stderr.String(), "KEYUPDATE"))
	if !strings.Contains(stderr.String(), "KEYUPDATE") {
		t.Logf("openssl stderr did not mention KEYUPDATE:\n%s", stderr.String())
	}
}

// TestInteropOpenSSLWithoutCertificate: s_client without a certificate is
// refused by a Strict server Session.
func TestInteropOpenSSLWithoutCertificate(t *testing.T) {
	bin := openssl(t)
	p := newPKI(t)
	dir := t.TempDir()
	cfg := p.node1.writeFiles(t, dir, "node1", formPKCS8, p.ca)
	ln := listen(t)
	results := make(chan loopResult, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			results <- loopResult{hsErr: err}
			return
		}
		s := NewSession(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server, nil)
		results <- runLoop(nc, s, time.Now().Add(10*time.Second))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "s_client", "-connect", ln.Addr().String(), "-tls1_3", "-CAfile", cfg.CAPath)
	cmd.Stdin = strings.NewReader("hello\n")
	out, _ := cmd.CombinedOutput()
	res := <-results
	if res.hsErr == nil && res.readErr == nil {
		t.Fatalf("accepted a client without a certificate:\n%s", out)
	}
	err := errors.Join(res.hsErr, res.readErr)
	if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("server: %v", err)
	}
	t.Logf("server: %v", err)
}

// TestGenCertsScript runs scripts/gen-certs.sh and uses its output.
func TestGenCertsScript(t *testing.T) {
	openssl(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	script := filepath.Join("..", "scripts", "gen-certs.sh")
	run := func(args ...string) string {
		out, err := exec.Command(bash, append([]string{script, dir}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("gen-certs.sh: %v\n%s", err, out)
		}
		return string(out)
	}
	run("node1", "node2")
	if out := run("node1"); !strings.Contains(out, "keeping") {
		t.Errorf("second run reissued: %s", out)
	}
	creds := map[string]*Credentials{}
	for _, n := range []string{"node1", "node2"} {
		c := NewSecureConfig(filepath.Join(dir, n+".pem"), filepath.Join(dir, n+".key"), filepath.Join(dir, "ca.pem"))
		cr, err := c.Load()
		if err != nil {
			t.Fatal(err)
		}
		if cr.Leaf().Subject.CommonName != n || len(cr.Leaf().DNSNames) != 1 || cr.Leaf().DNSNames[0] != n {
			t.Fatalf("%s: CN %q SAN %q", n, cr.Leaf().Subject.CommonName, cr.Leaf().DNSNames)
		}
		if days := time.Until(cr.Leaf().NotAfter).Hours() / 24; days < 820 || days > 826 {
			t.Errorf("%s valid for %.0f days", n, days)
		}
		creds[n] = cr
	}
	for _, v := range []NodeIDVerification{NodeIDCommonName, NodeIDSubjectAltName} {
		c1, c2 := *creds["node1"], *creds["node2"]
		c1.cfg.NodeIDVerification, c2.cfg.NodeIDVerification = v, v
		client := newEndpoint(c1.ClientConfig(Strict, "node2"), Client)
		server := newEndpoint(c2.ServerConfig(Strict), Server)
		if cerr, serr := handshakePair(t, client, server); cerr != nil || serr != nil {
			t.Fatalf("%v: client %v server %v", v, cerr, serr)
		}
		if err := VerifyNodeID(server.s.ConnectionState(), "node1", v); err != nil {
			t.Fatal(err)
		}
		client.s.Close()
		server.s.Close()
	}
	if out, err := exec.Command(bash, script).CombinedOutput(); err == nil || !strings.Contains(string(out), "usage") {
		t.Errorf("no usage message: %v %s", err, out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
