package stats_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/bench/stats"
)

func ExampleCompare() {
	lumen := []float64{21.4, 21.7, 22.0, 21.5, 21.9, 21.6, 21.8, 22.1}
	pytorch := []float64{190.7, 191.2, 189.9, 192.4, 190.1, 191.7, 190.4, 191.0}
	c, err := stats.Compare(lumen, pytorch, 0.05, 1)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s p<0.001:%v Cliff's delta %.0f\n", c.Test, c.P < 0.001, c.CliffsDelta)
	// Output: welch p<0.001:true Cliff's delta -1
}
