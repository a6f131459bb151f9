package main

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct{ budget, want int64 }{
		{512 << 20, 640 << 20},
		{4 << 20, 132 << 20},
		{math.MaxInt64 - 128<<20, math.MaxInt64},
		{math.MaxInt64 - 128<<20 + 1, math.MaxInt64}, // saturates: no limit
		{math.MaxInt64, math.MaxInt64},
	} {
		if got := memoryLimit(c.budget); got != c.want {
			t.Errorf("memoryLimit(%d) = %d, want %d", c.budget, got, c.want)
		}
	}
}

// TestApplyMemoryLimit checks that the Go memory limit becomes the budget
// plus the headroom when GOMEMLIMIT is not set, is left alone when it is,
// and that either way the limit is logged once at Info.
func TestApplyMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	const budget = 8 << 30 // large, so that the limit never slows the other tests

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	want := int64(budget + 128<<20)
	if got := applyMemoryLimit(budget, getenv, log); got != want {
		t.Errorf("applyMemoryLimit = %d, want %d", got, want)
	}
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("Go memory limit = %d, want %d", got, want)
	}
	checkLogged(t, logs.String(), "go memory limit set", want)

	// GOMEMLIMIT given: the runtime's limit stays.
	debug.SetMemoryLimit(prev)
	env["GOMEMLIMIT"] = "3GiB"
	logs.Reset()
	if got := applyMemoryLimit(budget, getenv, log); got != prev {
		t.Errorf("with GOMEMLIMIT, applyMemoryLimit = %d, want the limit in force %d", got, prev)
	}
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Errorf("with GOMEMLIMIT, Go memory limit = %d, want it unchanged (%d)", got, prev)
	}
	checkLogged(t, logs.String(), "go memory limit from GOMEMLIMIT", prev)
}

// checkLogged checks that logs hold exactly one line, at Info, with msg and
// the limit.
func checkLogged(t *testing.T, logs, msg string, limit int64) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want 1:\n%s", len(lines), logs)
	}
	for _, w := range []string{"level=INFO", `msg="` + msg + `"`, "limit_bytes=" + strconv.FormatInt(limit, 10)} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("log line %q does not contain %q", lines[0], w)
		}
	}
}

// TestNodeSetsMemoryLimit runs tcnode with -memory-budget and checks that
// it logs the Go memory limit it set, once, before listening.
func TestNodeSetsMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Setenv("GOMEMLIMIT", "") // empty is unset, for the runtime and for tcnode
	n := startNode(t, "-id", "n1", "-security-mode", "development", "-listen", freeAddr(t),
		"-memory-budget", strconv.Itoa(64<<20))
	if !waitFor(n.stderr, "tcnode listening", 20*time.Second) {
		t.Fatalf("tcnode did not start; stderr:\n%s", n.stderr.String())
	}
	stderr := n.stderr.String()
	if c := strings.Count(stderr, "go memory limit"); c != 1 {
		t.Errorf("memory limit logged %d times, want 1:\n%s", c, stderr)
	}
	if want := "limit_bytes=" + strconv.Itoa(192<<20); !strings.Contains(stderr, want) {
		t.Errorf("stderr does not contain %q:\n%s", want, stderr)
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := n.exitCode(t); code != exitOK {
		t.Errorf("exit status after SIGTERM = %d, want %d", code, exitOK)
	}
}
