package bench

import (
	"io"
	"os"
	"os/exec"

	"github.com/tensorchain/transport/internal/childproc"
)

// child is a helper process: exe (this binary, or a tcbench build) run
// again with one environment variable set, which RunChildIfRequested
// acts on. Closing its stdin is its cue to finish.
type child = childproc.Child

// startChild starts exe with env ("NAME=value") added, its stderr to
// stderr.
func startChild(exe, env string, stderr io.Writer) (*child, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = stderr
	return childproc.Start(cmd)
}
