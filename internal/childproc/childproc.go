// Package childproc runs a benchmark's helper process: a program started
// again in another role, which reports on its stdout one line at a time
// and finishes when its stdin closes. tcbench's node processes and
// raftbench's followers are such children.
package childproc

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// stopWait is how long Stop waits for a child to exit before killing it.
const stopWait = 10 * time.Second

// Child is a started helper process.
type Child struct {
	// Stdin is the child's input; closing it tells the child to finish.
	Stdin io.WriteCloser
	// Stdout is the child's output, which Line reads.
	Stdout io.ReadCloser

	cmd   *exec.Cmd
	lines *bufio.Scanner // over Stdout
}

// Start starts cmd (its Stderr as the caller set it) with pipes to its
// stdin and stdout.
func Start(cmd *exec.Cmd) (*Child, error) {
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
	return &Child{Stdin: stdin, Stdout: stdout, cmd: cmd, lines: lines}, nil
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Line reads the child's next output line, which must start with prefix,
// and returns the rest of it.
func (c *Child) Line(prefix string) (string, error) {
	if !c.lines.Scan() {
		return "", fmt.Errorf("node exited (%v)", c.lines.Err())
	}
	s, ok := strings.CutPrefix(c.lines.Text(), prefix)
	if !ok {
		return "", fmt.Errorf("unexpected output %q", c.lines.Text())
	}
	return s, nil
}

// Stop closes the child's stdin and waits for it to exit, killing it
// after 10 s.
func (c *Child) Stop() {
	_ = c.Stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopWait):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
