//go:build !unix

package harness

import "os/exec"

// ownGroup does nothing where process groups are not available.
func ownGroup(*exec.Cmd) {}

// stopGroup kills cmd (there is no gentle signal to send).
func stopGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
