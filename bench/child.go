package bench

import (
	"io"
	"os"
	"os/exec"
	"time"
)

// child is a helper process: exe (this binary, or a tcbench build) run
// again with one environment variable set, which RunChildIfRequested
// acts on. Closing its stdin is its cue to finish.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
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
	return &child{cmd: cmd, stdin: stdin, stdout: stdout}, nil
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
