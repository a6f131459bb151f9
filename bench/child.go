package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// child is a helper process: exe (this binary, or a tcbench build) run
// again with one environment variable set, which RunChildIfRequested
// acts on. Closing its stdin is its cue to finish.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	lines  *bufio.Scanner // over stdout (line)
}

// startChild starts exe with env ("NAME=value") added, its stderr to
// stderr.
func startChild(exe, env string, stderr io.Writer) (*child, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 0, 64<<10), 4<<20) // a stats line can be long
	return &child{cmd: cmd, stdin: stdin, stdout: stdout, lines: lines}, nil
}

// line reads the child's next output line, which must start with prefix,
// and returns the rest of it.
func (c *child) line(prefix string) (string, error) {
	if !c.lines.Scan() {
		return "", fmt.Errorf("node exited (%v)", c.lines.Err())
	}
	s, ok := strings.CutPrefix(c.lines.Text(), prefix)
	if !ok {
		return "", fmt.Errorf("unexpected output %q", c.lines.Text())
	}
	return s, nil
}

// stop closes the child's stdin and waits for it to exit, killing it
// after 10 s.
func (c *child) stop() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
