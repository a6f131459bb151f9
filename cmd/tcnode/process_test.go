package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envRunMain makes the test binary behave as tcnode itself, so that the
// process tests run the real main (signals, exit statuses) without a build
// step.
const envRunMain = "TCNODE_TEST_RUN_MAIN"

// TestMain runs main instead of the tests when the test binary was started
// as a tcnode process by startNode.
func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		os.Args = append([]string{"tcnode"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

// process is a tcnode child process with its standard streams.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error
}

// startNode starts the test binary as "tcnode args...".
func startNode(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	p := &process{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s stderr:\n%s", args, p.stderr.String())
		}
	})
	return p
}

// exitCode waits (bounded) for the process to end and returns its status.
func (p *process) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for Cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("tcnode did not exit within 30s")
		return -1
	}
}

// TestTwoNodesTalkOverStrictTLS starts two tcnode processes in Strict mode
// (mutual TLS, node ids checked against the certificates made by
// scripts/gen-certs.sh), the first before the second listens, and checks
// that both connect, that a line typed into either is printed by the other,
// and that SIGTERM stops both with status 0.
func TestTwoNodesTalkOverStrictTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	certs := genCerts(t, "n1", "n2")
	addr1, addr2 := freeAddr(t), freeAddr(t)
	tlsArgs := func(id string) []string {
		return []string{"-security-mode", "strict",
			"-tls-cert", filepath.Join(certs, id+".pem"),
			"-tls-key", filepath.Join(certs, id+".key"),
			"-tls-ca", filepath.Join(certs, "ca.pem"),
			"-reconnect-initial-backoff", "50ms", "-reconnect-max-backoff", "500ms"}
	}
	// n1 starts alone, so its first dial fails and it must get to n2 on a
	// background redial; n2 then finds n1 listening at once.
	n1 := startNode(t, append([]string{"-id", "n1", "-listen", addr1, "-peer", "n2=" + addr2}, tlsArgs("n1")...)...)
	if !waitFor(n1.stderr, "peer not reachable yet", 20*time.Second) {
		t.Fatalf("n1 did not report n2 unreachable; stderr:\n%s", n1.stderr.String())
	}
	n2 := startNode(t, append([]string{"-id", "n2", "-listen", addr2, "-peer", "n1=" + addr1}, tlsArgs("n2")...)...)
	for _, w := range []struct {
		n    *process
		want string
	}{{n1, "msg=reconnected"}, {n2, "msg=connected"}} {
		if !waitFor(w.n.stderr, w.want, 20*time.Second) {
			t.Fatalf("no %q; stderr:\n%s", w.want, w.n.stderr.String())
		}
	}
	say(t, n1, "hello from n1")
	if !waitFor(n2.stdout, "n1: hello from n1\n", 10*time.Second) {
		t.Fatalf("n2 did not print n1's line; n2 stdout: %q", n2.stdout.String())
	}
	say(t, n2, "and back from n2")
	if !waitFor(n1.stdout, "n2: and back from n2\n", 10*time.Second) {
		t.Fatalf("n1 did not print n2's line; n1 stdout: %q", n1.stdout.String())
	}
	for _, n := range []*process{n1, n2} {
		if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := n.exitCode(t); code != exitOK {
			t.Errorf("exit status after SIGTERM = %d, want %d", code, exitOK)
		}
	}
}

// say types one line into a node's stdin.
func say(t *testing.T, p *process, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// TestBadInputExitsNamingTheCulprit runs tcnode with a bad flag and with a
// configuration file holding a misspelt key: each exits with status 2 and
// names the flag or the key on stderr.
func TestBadInputExitsNamingTheCulprit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	badKey := writeFile(t, dir, "node.toml", "node_id = \"n1\"\nsecurity_mode = \"development\"\n[tls]\ncert_pth = \"n1.pem\"\n")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"bad flag value", []string{"-id", "n1", "-security-mode", "development", "-pool-size", "0"},
			[]string{"-pool-size", "between 1 and 64"}},
		{"unknown flag", []string{"-id", "n1", "-security-mode", "development", "-pool-sise", "2"},
			[]string{"-pool-sise"}},
		{"bad TOML key", []string{"-config", badKey},
			[]string{`unknown key "tls.cert_pth"`, "line 4"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startNode(t, c.args...)
			if code := p.exitCode(t); code != exitUsage {
				t.Errorf("exit status = %d, want %d", code, exitUsage)
			}
			stderr := p.stderr.String()
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// genCerts runs scripts/gen-certs.sh for the nodes and returns the directory
// holding ca.pem and NODE.pem/NODE.key.
func genCerts(t *testing.T, nodes ...string) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed; scripts/gen-certs.sh needs it (.ci/run installs it)")
	}
	dir := t.TempDir()
	cmd := exec.Command("../../scripts/gen-certs.sh", append([]string{dir}, nodes...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	return dir
}
