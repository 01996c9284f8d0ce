package optim

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// torch_golden.json holds torch.optim.SGD and Adam (PyTorch 1.13) run for five steps
// on fixed parameters and gradients (make_golden.py writes it).
type golden struct {
	Torch string      `json:"torch"`
	Init  []float32   `json:"init"`
	Grads [][]float32 `json:"grads"`
	Cases []struct {
		Kind    string         `json:"kind"`
		Options map[string]any `json:"options"`
		After   [][]float32    `json:"after"`
	} `json:"cases"`
}

func num(opts map[string]any, key string, def float64) float64 {
	if v, ok := opts[key].(float64); ok {
		return v
	}
	return def
}

func TestMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_golden.json")
	require.NoError(t, err)
	var g golden
	require.NoError(t, json.Unmarshal(raw, &g))
	require.Len(t, g.Cases, 6)
	for _, c := range g.Cases {
		t.Run(fmt.Sprintf("%s%v", c.Kind, c.Options), func(t *testing.T) {
			p := Param{Name: "p", Value: append([]float32(nil), g.Init...), Grad: make([]float32, len(g.Init))}
			var opt Optimizer
			switch c.Kind {
			case "sgd":
				nesterov, _ := c.Options["nesterov"].(bool)
				opt, err = NewSGD([]Param{p}, SGDConfig{LR: num(c.Options, "lr", 0), Momentum: num(c.Options, "momentum", 0),
					Dampening: num(c.Options, "dampening", 0), WeightDecay: num(c.Options, "weight_decay", 0), Nesterov: nesterov})
			case "adam":
				cfg := DefaultAdam()
				cfg.LR = num(c.Options, "lr", cfg.LR)
				if b, ok := c.Options["betas"].([]any); ok {
					cfg.Beta1, cfg.Beta2 = b[0].(float64), b[1].(float64)
				}
				cfg.Eps, cfg.WeightDecay = num(c.Options, "eps", cfg.Eps), num(c.Options, "weight_decay", 0)
				opt, err = NewAdam([]Param{p}, cfg)
			}
			require.NoError(t, err)
			for s, grad := range g.Grads {
				copy(p.Grad, grad)
				opt.Step()
				for j, want := range c.After[s] {
					// PyTorch fuses some multiply-adds (FMA) where Go rounds twice: allow 2 ulps.
					tol := 2 * ulp(want)
					require.InDelta(t, want, p.Value[j], float64(tol), "step %d, element %d", s+1, j)
				}
			}
		})
	}
}

func ulp(x float32) float32 {
	x = float32(math.Abs(float64(x)))
	return math.Nextafter32(x, float32(math.Inf(1))) - x
}

func TestOptionsChecked(t *testing.T) {
	ps := []Param{{Name: "w", Value: make([]float32, 3), Grad: make([]float32, 3)}}
	for _, cfg := range []SGDConfig{{LR: 0}, {LR: math.NaN()}, {LR: 1, Momentum: -1}, {LR: 1, Nesterov: true}, {LR: 1, Momentum: 0.9, Dampening: 0.1, Nesterov: true}} {
		_, err := NewSGD(ps, cfg)
		require.Error(t, err, "%+v", cfg)
	}
	for _, cfg := range []AdamConfig{{LR: 0, Beta1: 0.9, Beta2: 0.9}, {LR: 1, Beta1: 1, Beta2: 0.9}, {LR: 1, Beta1: 0.9, Beta2: -0.1}, {LR: 1, Eps: -1}} {
		_, err := NewAdam(ps, cfg)
		require.Error(t, err, "%+v", cfg)
	}
	_, err := NewSGD([]Param{{Name: "b", Value: make([]float32, 2), Grad: make([]float32, 1)}}, SGDConfig{LR: 1})
	require.ErrorContains(t, err, `"b" has 2 values but 1 gradients`)
}

func TestStepAllocatesNothing(t *testing.T) {
	ps := []Param{{Name: "w", Value: make([]float32, 100), Grad: make([]float32, 100)}}
	sgd, err := NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9})
	require.NoError(t, err)
	adam, err := NewAdam(ps, DefaultAdam())
	require.NoError(t, err)
	sgd.Step() // the momentum buffer is made on the first step
	require.Zero(t, testing.AllocsPerRun(10, sgd.Step))
	require.Zero(t, testing.AllocsPerRun(10, adam.Step))
}
