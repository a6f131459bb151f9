package tlsstate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// OpenSSL interop of the engine's record layer (EngineRecords) over real
// loopback sockets, for each TLS 1.3 cipher suite, forced on the openssl
// side: data and KeyUpdates both ways, with openssl s_server against a
// client Session and openssl s_client against a server Session.

// tls13Suites are the TLS 1.3 cipher suites; crypto/tls and OpenSSL call
// them by the same names.
var tls13Suites = []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}

// interopStep bounds each wait for a condition (openssl printing what we
// sent, our side receiving what openssl sent, a KeyUpdate arriving).
const interopStep = 3 * time.Second

// recordsLoop drives a Session over a socket as the engine's event loop
// does: one goroutine (run) alone reads, with Open or Decrypt, and sends
// what the Session has for the peer; a reader goroutine only moves socket
// bytes to it. The test asks it to seal data, initiate KeyUpdates and
// close through do, which runs a function on the loop.
type recordsLoop struct {
	s             *Session
	nc            net.Conn
	useOpen       bool // read with Open, else Decrypt
	appendEncrypt bool // seal with AppendEncrypt and write, else Encrypt and TakeOutput
	wake          chan struct{}
	cmds          chan func()
	hsDone        chan error // the handshake's outcome
	stopped       chan struct{}
	err           error // why the loop ended (nil: the peer closed after our close_notify, or sent its own); read after stopped
	closed        bool  // loop only: Close was called
	got           syncBuffer
	peerEOF       atomic.Bool // the peer's close_notify arrived
}

func startRecordsLoop(nc net.Conn, tc *tls.Config, role Role, useOpen, appendEncrypt bool, deadline time.Time) *recordsLoop {
	l := &recordsLoop{
		nc: nc, useOpen: useOpen, appendEncrypt: appendEncrypt,
		wake: make(chan struct{}, 1), cmds: make(chan func()), hsDone: make(chan error, 1), stopped: make(chan struct{}),
	}
	l.s = NewSessionWith(tc, role, func() {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}, SessionOptions{Records: EngineRecords})
	_ = nc.SetDeadline(deadline)
	go l.run(deadline)
	return l
}

func (l *recordsLoop) run(deadline time.Time) {
	defer close(l.stopped)
	reads := make(chan []byte, 16)
	go func() {
		defer close(reads)
		for {
			buf := make([]byte, 32<<10)
			n, err := l.nc.Read(buf)
			if n > 0 {
				reads <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	done := make(chan error, 1)
	l.s.StartHandshake(context.Background(), nil, deadline, func(err error) { done <- err })
	l.err = l.loop(reads, done)
	l.s.Close()
	_ = l.flush()
	l.nc.Close()
	for range reads {
	}
}

func (l *recordsLoop) loop(reads chan []byte, done chan error) error {
	var pending []byte
	established := false
	for {
		select {
		case b, ok := <-reads:
			switch {
			case !ok && !established:
				l.s.PeerClosed()
				err := <-done // the handshake fails on the end of input
				l.hsDone <- err
				return fmt.Errorf("peer hung up during the handshake: %v", err)
			case !ok && (l.closed || l.peerEOF.Load()):
				return nil
			case !ok:
				return errors.New("peer hung up without close_notify")
			case !established:
				l.s.Feed(b)
			case !l.closed && !l.peerEOF.Load():
				if err := l.read(&pending, b); err != nil {
					return err
				}
			}
		case <-l.wake:
		case err := <-done:
			l.hsDone <- err
			if err != nil {
				_ = l.flush() // the alert saying why
				return err
			}
			established = true
			if err := l.read(&pending, nil); err != nil { // records fed with the last flight
				return err
			}
		case f := <-l.cmds:
			f()
		}
		if err := l.flush(); err != nil {
			return err
		}
	}
}

// read delivers socket bytes to the Session and collects the plaintext.
func (l *recordsLoop) read(pending *[]byte, in []byte) error {
	p := append(*pending, in...)
	defer func() { *pending = p }()
	var err error
	if l.useOpen {
		off := 0
		for {
			var plain []byte
			var n int
			plain, n, err = l.s.Open(p[off:])
			_, _ = l.got.Write(plain)
			off += n
			if err != nil || (plain == nil && n == 0) {
				break
			}
		}
		p = p[:copy(p, p[off:])]
	} else {
		var plain []byte
		var n int
		plain, n, err = l.s.Decrypt(nil, p, 0)
		_, _ = l.got.Write(plain)
		p = p[:copy(p, p[n:])]
	}
	if errors.Is(err, io.EOF) {
		l.peerEOF.Store(true)
		l.s.Close() // answer with our close_notify
		return nil
	}
	return err
}

func (l *recordsLoop) flush() error {
	if !l.s.HasOutput() {
		return nil
	}
	_, err := l.nc.Write(l.s.TakeOutput(nil))
	return err
}

// do runs f on the loop and returns its error.
func (l *recordsLoop) do(f func(s *Session) error) error {
	reply := make(chan error, 1)
	select {
	case l.cmds <- func() { reply <- f(l.s) }:
		return <-reply
	case <-l.stopped:
		return fmt.Errorf("the loop has ended: %v", l.err)
	}
}

// seal seals msg (on the loop) and sends it with whatever the Session has
// pending for the peer in front (a KeyUpdate).
func (l *recordsLoop) seal(s *Session, msg string) error {
	if !l.appendEncrypt {
		return s.Encrypt([]byte(msg)) // the loop flushes after each command
	}
	buf, err := s.AppendEncrypt(nil, []byte(msg))
	if err != nil {
		return err
	}
	_, err = l.nc.Write(buf)
	return err
}

// opensslProc is a running openssl s_server or s_client, its stdin a pipe
// and its output collected.
type opensslProc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr syncBuffer
	exited         chan struct{}
	waitErr        error // after exited
}

func startOpenSSL(t *testing.T, ctx context.Context, bin string, args ...string) *opensslProc {
	t.Helper()
	o := &opensslProc{exited: make(chan struct{})}
	o.cmd = exec.CommandContext(ctx, bin, args...)
	var err error
	if o.stdin, err = o.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	o.cmd.Stdout, o.cmd.Stderr = &o.stdout, &o.stderr
	o.cmd.WaitDelay = time.Second
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { o.waitErr = o.cmd.Wait(); close(o.exited) }()
	t.Cleanup(func() {
		o.stdin.Close()
		select {
		case <-o.exited:
		case <-time.After(2 * time.Second):
			_ = o.cmd.Process.Kill() // the process this test started, by its pid
			<-o.exited
		}
	})
	return o
}

// dump is openssl's output, for failure messages (long data cut).
func (o *opensslProc) dump() string {
	cut := func(s string) string {
		if len(s) > 6000 {
			return s[:3000] + "\n[...]\n" + s[len(s)-3000:]
		}
		return s
	}
	return fmt.Sprintf("openssl %s\nstdout:\n%s\nstderr:\n%s", strings.Join(o.cmd.Args[1:], " "), cut(o.stdout.String()), cut(o.stderr.String()))
}

// await polls cond until it holds, failing after interopStep or once
// openssl has exited without it holding.
func (o *opensslProc) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(interopStep)
	for !cond() {
		select {
		case <-o.exited:
			if cond() {
				return
			}
			t.Fatalf("openssl exited (%v) before %s\n%s", o.waitErr, what, o.dump())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s\n%s", what, o.dump())
		}
		time.Sleep(time.Millisecond)
	}
}

// interopRecords is the conversation both tests hold once l's handshake
// with openssl has started: data each way, our KeyUpdate(update_requested)
// answered by openssl, openssl's KeyUpdates with ("K") and without ("k")
// a request, data under every new key, then our close_notify, after which
// openssl exits. Lines openssl sends start with none of its command
// letters (s_server: q Q r R k K c P S; s_client: Q R k K), and each
// stdin write waits for its effect so that openssl reads them apart.
func interopRecords(t *testing.T, o *opensslProc, l *recordsLoop, suite uint16) {
	t.Helper()
	select {
	case err := <-l.hsDone:
		if err != nil {
			t.Fatalf("handshake: %v\n%s", err, o.dump())
		}
	case <-time.After(interopStep):
		t.Fatalf("no handshake\n%s", o.dump())
	}
	st := l.s.ConnectionState()
	if st.Version != tls.VersionTLS13 || st.CipherSuite != suite {
		t.Fatalf("negotiated version %#x suite %s, want TLS 1.3 with %s", st.Version, tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(suite))
	}
	if !l.s.InPlace() {
		t.Fatal("InPlace() is false: the engine's record layer is not in use")
	}
	name := tls.CipherSuiteName(suite)
	var fromOpenSSL strings.Builder
	goSends := func(msg string, updateFirst bool) {
		t.Helper()
		if err := l.do(func(s *Session) error {
			if updateFirst {
				if err := s.UpdateKeys(true); err != nil {
					return err
				}
			}
			return l.seal(s, msg)
		}); err != nil {
			t.Fatalf("sending %.30q: %v", msg, err)
		}
		o.await(t, fmt.Sprintf("openssl to print %.40q", msg), func() bool { return strings.Contains(o.stdout.String(), msg) })
	}
	opensslSends := func(msg string) {
		t.Helper()
		fromOpenSSL.WriteString(msg)
		if _, err := io.WriteString(o.stdin, msg); err != nil {
			t.Fatal(err)
		}
		want := fromOpenSSL.String()
		o.await(t, fmt.Sprintf("our side to receive %.40q", msg), func() bool { return strings.HasSuffix(l.got.String(), msg) || len(l.got.String()) > len(want) })
		mustEqual(t, "received from openssl", []byte(l.got.String()), []byte(want))
	}
	keyUpdates := func(what string, sent, received uint64) {
		t.Helper()
		o.await(t, fmt.Sprintf("KeyUpdates sent %d, received %d (%s)", sent, received, what), func() bool {
			s, r := l.s.KeyUpdates()
			return s >= sent && r >= received
		})
	}
	opensslCommand := func(cmd string, sent, received uint64) {
		t.Helper()
		if _, err := io.WriteString(o.stdin, cmd+"\n"); err != nil {
			t.Fatal(err)
		}
		keyUpdates("openssl's "+cmd, sent, received)
	}
	exactly := func(what string, sent, received uint64) {
		t.Helper()
		if s, r := l.s.KeyUpdates(); s != sent || r != received {
			t.Fatalf("%s: KeyUpdates sent %d, received %d; want %d, %d\n%s", what, s, r, sent, received, o.dump())
		}
	}

	goSends("go-1 first words over "+name+"\n", false)
	opensslSends("ossl-1 first answer\n")
	exactly("before any KeyUpdate", 0, 0)

	// Ours, asking openssl to update too: what follows goes under our
	// new key, and openssl's answer comes ahead of its next data.
	goSends("go-2 after our KeyUpdate\n", true)
	goSends("go-big:"+strings.Repeat("0123456789abcdef", 4<<10)+"\n", false) // four full records and a bit
	opensslSends("ossl-2 after its answer\n")
	exactly("after our KeyUpdate(update_requested)", 1, 1)

	// openssl's, asking us to answer: it reaches openssl before our data.
	opensslCommand("K", 2, 2)
	opensslSends("ossl-3 after K\n")
	goSends("go-3 after our answer\n", false)

	// openssl's, asking nothing: no answer.
	opensslCommand("k", 2, 3)
	opensslSends("ossl-big:" + strings.Repeat("x", 40000) + "\n")
	goSends("go-4 last words\n", false)
	exactly("at the end", 2, 3)

	// Our close_notify: openssl sees the end of the connection and exits.
	if err := l.do(func(s *Session) error { s.Close(); l.closed = true; return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-o.exited:
		t.Logf("openssl exit: %v", o.waitErr)
	case <-time.After(interopStep):
		t.Fatalf("openssl did not exit after our close_notify\n%s", o.dump())
	}
	select {
	case <-l.stopped:
		if l.err != nil {
			t.Fatalf("our loop: %v\n%s", l.err, o.dump())
		}
	case <-time.After(interopStep):
		t.Fatal("our loop did not end after openssl exited")
	}
	mustEqual(t, "everything openssl sent", []byte(l.got.String()), []byte(fromOpenSSL.String()))
	sent, received := l.s.KeyUpdates()
	if sent < 1 || received < 1 {
		t.Fatalf("KeyUpdates sent %d, received %d", sent, received)
	}
}

var acceptLine = regexp.MustCompile(`(?m)^ACCEPT (127\.0\.0\.1:\d+)\s*$`)

// TestInteropOpenSSLServerRecords: openssl s_server, forced to one TLS
// 1.3 suite and requiring a client certificate, against a Strict client
// Session with the engine's record layer, reading with Open and sealing
// with AppendEncrypt. The server's session tickets, sent after the
// handshake, are skipped.
func TestInteropOpenSSLServerRecords(t *testing.T) {
	bin := openssl(t)
	p := newPKI(t)
	dir := t.TempDir()
	srv := p.node2.writeFiles(t, dir, "node2", formSEC1, p.ca)
	ctc := p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2")
	for _, suite := range tls13Suites {
		t.Run(tls.CipherSuiteName(suite), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			o := startOpenSSL(t, ctx, bin, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
				"-tls1_3", "-ciphersuites", tls.CipherSuiteName(suite),
				"-cert", srv.CertPath, "-key", srv.KeyPath, "-CAfile", srv.CAPath, "-Verify", "1", "-verify_return_error")
			var addr string
			o.await(t, "s_server's ACCEPT line", func() bool {
				m := acceptLine.FindStringSubmatch(o.stdout.String())
				if m != nil {
					addr = m[1]
				}
				return m != nil
			})
			nc, err := net.DialTimeout("tcp", addr, interopStep)
			if err != nil {
				t.Fatalf("dial %s: %v\n%s", addr, err, o.dump())
			}
			l := startRecordsLoop(nc, ctc, Client, true, true, time.Now().Add(8*time.Second))
			t.Cleanup(func() { nc.Close(); <-l.stopped })
			interopRecords(t, o, l, suite)
			// openssl's own account: the suite, its two KeyUpdates ("K",
			// "k") done, and our close_notify read ("DONE", not "ERROR").
			out := o.stdout.String()
			if !strings.Contains(out, "CIPHER is "+tls.CipherSuiteName(suite)+"\n") {
				t.Errorf("s_server does not report the cipher suite\n%s", o.dump())
			}
			if n := strings.Count(out, "SSL_do_handshake -> 1\n"); n != 2 {
				t.Errorf("s_server reports %d KeyUpdates done, want 2\n%s", n, o.dump())
			}
			if !strings.Contains(out, "\nDONE\n") {
				t.Errorf("s_server did not end on our close_notify\n%s", o.dump())
			}
		})
	}
}

// TestInteropOpenSSLClientRecords: openssl s_client with a client
// certificate, forced to one TLS 1.3 suite, against a Strict server
// Session with the engine's record layer, reading with Decrypt and
// sealing with Encrypt and TakeOutput.
func TestInteropOpenSSLClientRecords(t *testing.T) {
	bin := openssl(t)
	p := newPKI(t)
	dir := t.TempDir()
	cli := p.node1.writeFiles(t, dir, "node1", formPKCS8, p.ca)
	stc := p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict)
	for _, suite := range tls13Suites {
		t.Run(tls.CipherSuiteName(suite), func(t *testing.T) {
			ln := listen(t)
			_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(interopStep))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			o := startOpenSSL(t, ctx, bin, "s_client", "-connect", ln.Addr().String(),
				"-tls1_3", "-ciphersuites", tls.CipherSuiteName(suite),
				"-cert", cli.CertPath, "-key", cli.KeyPath, "-CAfile", cli.CAPath, "-verify_return_error", "-servername", "node2")
			nc, err := ln.Accept()
			if err != nil {
				t.Fatalf("accept: %v\n%s", err, o.dump())
			}
			l := startRecordsLoop(nc, stc, Server, false, false, time.Now().Add(8*time.Second))
			t.Cleanup(func() { nc.Close(); <-l.stopped })
			interopRecords(t, o, l, suite)
			// openssl's own account: the suite, its two KeyUpdates ("K",
			// "k"), and our close_notify read ("closed", not an error).
			out := o.stdout.String()
			if !strings.Contains(out, "Cipher is "+tls.CipherSuiteName(suite)+"\n") {
				t.Errorf("s_client does not report the cipher suite\n%s", o.dump())
			}
			if n := strings.Count(o.stderr.String(), "KEYUPDATE\n"); n != 2 {
				t.Errorf("s_client reports %d KeyUpdates, want 2\n%s", n, o.dump())
			}
			if !strings.Contains(out, "\nclosed\n") {
				t.Errorf("s_client did not end on our close_notify\n%s", o.dump())
			}
		})
	}
}
