package harness

import (
	"strconv"
	"strings"
)

// parseVmHWM reads the "VmHWM:   123456 kB" line of a /proc/PID/status text, in
// bytes (0 when absent).
func parseVmHWM(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
