//go:build !unix

package harness

import "os"

// cpuSeconds and peakRSS are not measured off Unix: the report shows them as n/a.
func cpuSeconds() float64 { return 0 }

func peakRSS(*os.ProcessState) int64 { return 0 }

func ownPeakRSS() int64 { return 0 }
