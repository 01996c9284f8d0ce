//go:build unix

package harness

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own, so that stopGroup reaches the
// children it starts too (taskset execs the server; Python may fork).
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// stopGroup signals cmd's process group: gently (SIGTERM, a drain) or not (SIGKILL).
func stopGroup(cmd *exec.Cmd, force bool) {
	sig := syscall.SIGTERM
	if force {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
