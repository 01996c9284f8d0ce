//go:build race

package bert

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts that rely on pooled scratch are not asserted under it.
const raceEnabled = true
