// Package optim updates parameters from their gradients with the rules of
// torch.optim: SGD (momentum, dampening, Nesterov, weight decay) and Adam. The
// arithmetic follows PyTorch 1.13's single-tensor implementations operation by
// operation in float32, with the scalar coefficients (1 − β, the bias corrections)
// computed in float64 and rounded once, as PyTorch's Python code computes them, so a
// step from the same parameters and gradients matches PyTorch's to within a rounding
// of the last bit.
//
// An optimiser owns its state (momentum or moment buffers, the step count) for the
// parameters it was made with; it is not safe for concurrent use.
package optim

import (
	"fmt"
	"math"
)

// Param is one trained tensor: its values and, after a backward pass, their gradient
// (the same length), both updated in place by the caller's model.
type Param struct {
	Name  string
	Value []float32
	Grad  []float32
}

// Optimizer applies one update to every parameter from its current gradient.
type Optimizer interface {
	Step()
}

func checkParams(params []Param) error {
	for _, p := range params {
		if len(p.Value) != len(p.Grad) {
			return fmt.Errorf("optim: parameter %q has %d values but %d gradients", p.Name, len(p.Value), len(p.Grad))
		}
	}
	return nil
}

// SGDConfig holds torch.optim.SGD's options.
type SGDConfig struct {
	LR          float64 // learning rate (required, > 0)
	Momentum    float64 // 0 disables the momentum buffer
	Dampening   float64
	WeightDecay float64 // L2 penalty added to the gradient
	Nesterov    bool    // requires Momentum > 0 and Dampening = 0
}

// SGD is stochastic gradient descent with optional momentum:
//
//	d = g + wd·p;  b = d (first step) or μ·b + (1−τ)·d;  d = b or d + μ·b (Nesterov);  p −= lr·d
type SGD struct {
	cfg    SGDConfig
	params []Param
	bufs   [][]float32 // momentum buffers, nil until the first step
}

// NewSGD returns SGD over params, checking the options as PyTorch does.
func NewSGD(params []Param, cfg SGDConfig) (*SGD, error) {
	switch {
	case !(cfg.LR > 0):
		return nil, fmt.Errorf("optim: SGD learning rate %v: must be positive", cfg.LR)
	case cfg.Momentum < 0 || cfg.WeightDecay < 0:
		return nil, fmt.Errorf("optim: SGD momentum %v, weight decay %v: must not be negative", cfg.Momentum, cfg.WeightDecay)
	case cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0):
		return nil, fmt.Errorf("optim: Nesterov momentum requires a momentum and zero dampening")
	}
	if err := checkParams(params); err != nil {
		return nil, err
	}
	return &SGD{cfg: cfg, params: params, bufs: make([][]float32, len(params))}, nil
}

// Step applies one update. The common cases (no weight decay) run branch-free loops.
func (o *SGD) Step() {
	lr, mu := float32(-o.cfg.LR), float32(o.cfg.Momentum)
	wd, damp := float32(o.cfg.WeightDecay), float32(1-o.cfg.Dampening)
	for i, p := range o.params {
		v, g := p.Value, p.Grad[:len(p.Value)]
		first := o.bufs[i] == nil
		if first && o.cfg.Momentum != 0 {
			o.bufs[i] = make([]float32, len(v))
		}
		buf := o.bufs[i]
		switch {
		case wd != 0 || o.cfg.Nesterov:
			for j := range v {
				d := g[j]
				if wd != 0 {
					d += wd * v[j]
				}
				if o.cfg.Momentum != 0 {
					if first {
						buf[j] = d
					} else {
						buf[j] = buf[j]*mu + damp*d
					}
					if o.cfg.Nesterov {
						d += mu * buf[j]
					} else {
						d = buf[j]
					}
				}
				v[j] += lr * d
			}
		case o.cfg.Momentum == 0:
			for j := range v {
				v[j] += lr * g[j]
			}
		case first: // b = g
			buf = buf[:len(v)]
			for j := range v {
				buf[j] = g[j]
				v[j] += lr * g[j]
			}
		default: // b = μ·b + (1−τ)·g; p −= lr·b
			buf = buf[:len(v)]
			for j := range v {
				buf[j] = buf[j]*mu + damp*g[j]
				v[j] += lr * buf[j]
			}
		}
	}
}

// AdamConfig holds torch.optim.Adam's options; DefaultAdam has PyTorch's defaults.
type AdamConfig struct {
	LR           float64
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64 // L2 penalty added to the gradient (Adam, not AdamW)
}

// DefaultAdam returns PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8.
func DefaultAdam() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Adam is Kingma and Ba's method with PyTorch's bias corrections:
//
//	g += wd·p;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//	p −= lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)
type Adam struct {
	cfg    AdamConfig
	params []Param
	m, v   [][]float32
	step   int
}

// NewAdam returns Adam over params, checking the options as PyTorch does.
func NewAdam(params []Param, cfg AdamConfig) (*Adam, error) {
	switch {
	case !(cfg.LR > 0):
		return nil, fmt.Errorf("optim: Adam learning rate %v: must be positive", cfg.LR)
	case !(cfg.Beta1 >= 0 && cfg.Beta1 < 1 && cfg.Beta2 >= 0 && cfg.Beta2 < 1):
		return nil, fmt.Errorf("optim: Adam betas (%v, %v): each must lie in [0, 1)", cfg.Beta1, cfg.Beta2)
	case !(cfg.Eps >= 0) || cfg.WeightDecay < 0:
		return nil, fmt.Errorf("optim: Adam eps %v, weight decay %v: must not be negative", cfg.Eps, cfg.WeightDecay)
	}
	if err := checkParams(params); err != nil {
		return nil, err
	}
	o := &Adam{cfg: cfg, params: params}
	for _, p := range params {
		o.m = append(o.m, make([]float32, len(p.Value)))
		o.v = append(o.v, make([]float32, len(p.Value)))
	}
	return o, nil
}

// Step applies one update.
func (o *Adam) Step() {
	o.step++
	c := o.cfg
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	a1, a2 := float32(1-c.Beta1), float32(1-c.Beta2)
	stepSize := float32(-(c.LR / (1 - math.Pow(c.Beta1, float64(o.step)))))
	bc2Sqrt := float32(math.Sqrt(1 - math.Pow(c.Beta2, float64(o.step))))
	eps, wd := float32(c.Eps), float32(c.WeightDecay)
	for i, p := range o.params {
		m, v := o.m[i], o.v[i]
		for j, g := range p.Grad {
			if wd != 0 {
				g += wd * p.Value[j]
			}
			m[j] = m[j]*b1 + a1*g
			v[j] = v[j]*b2 + a2*g*g
			denom := float32(math.Sqrt(float64(v[j])))/bc2Sqrt + eps
			p.Value[j] += stepSize * m[j] / denom
		}
	}
}
