package harness

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plot writes the charts (ext ".svg" or ".png") into dir and returns their file names: a latency
// distribution per workload (box plots per implementation and thread count), a
// throughput chart per thread count (relative to the reference) and, with more than
// one thread count, the thread-scaling chart.
func (rep *Report) plot(dir, ext string) ([]string, error) {
	var files []string
	save := func(p *plot.Plot, w, h vg.Length, name string) error {
		if err := p.Save(w, h, filepath.Join(dir, name)); err != nil {
			return err
		}
		files = append(files, name)
		return nil
	}
	for _, wl := range rep.Workloads {
		var runs []Result
		for _, r := range rep.Runs {
			if r.Workload == wl.Name && r.Summary != nil {
				runs = append(runs, r)
			}
		}
		if len(runs) == 0 {
			continue
		}
		p := plot.New()
		p.Title.Text = wl.Name + ": time per repetition"
		p.Y.Label.Text = "milliseconds"
		var names []string
		for i, r := range runs {
			v := make(plotter.Values, len(r.Samples))
			for k, s := range r.Samples {
				v[k] = s * 1e3
			}
			b, err := plotter.NewBoxPlot(vg.Points(28), float64(i), v)
			if err != nil {
				return nil, err
			}
			b.FillColor = implColor(r.Impl)
			p.Add(b)
			names = append(names, fmt.Sprintf("%s t%d", r.Impl, r.Threads))
		}
		p.NominalX(names...)
		if lo, hi := medianRange(runs); hi > 5*lo {
			// Implementations an order of magnitude apart: a log axis keeps every box readable.
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
			p.Y.Label.Text = "milliseconds (log scale)"
		}
		if err := save(p, vg.Points(float64(90+70*len(runs))), 4*vg.Inch, "latency-"+wl.Name+ext); err != nil {
			return nil, err
		}
	}

	for _, t := range rep.Threads {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Throughput relative to the reference, %d thread(s) (higher is better)", t)
		p.Y.Label.Text = "× reference (median)"
		var names []string
		impls := map[string]plotter.Values{}
		for _, wl := range rep.Workloads {
			ref := rep.find(wl.Name, t, "")
			if ref == nil {
				continue
			}
			names = append(names, wl.Name)
			for _, impl := range rep.Impls {
				v := 0.0
				if r := rep.find(wl.Name, t, impl); r != nil {
					v = ref.Summary.Median / r.Summary.Median
				}
				impls[impl] = append(impls[impl], v)
			}
		}
		if len(names) == 0 {
			continue
		}
		w := vg.Points(10)
		n := 0
		for _, impl := range rep.Impls {
			if slices.ContainsFunc(impls[impl], func(v float64) bool { return v > 0 }) {
				n++
			}
		}
		k, top := 0, 1.0
		for _, impl := range rep.Impls {
			top = max(top, slices.Max(append(impls[impl], 0)))
		}
		p.Y.Min, p.Y.Max = 0, top*1.2 // room for the legend
		for _, impl := range rep.Impls {
			vals := impls[impl]
			if !slices.ContainsFunc(vals, func(v float64) bool { return v > 0 }) {
				continue
			}
			bars, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return nil, err
			}
			bars.Color = implColor(impl)
			bars.LineStyle.Width = 0
			bars.Offset = w * vg.Length(float64(k)-float64(n-1)/2)
			p.Add(bars)
			p.Legend.Add(impl, bars)
			k++
		}
		p.Legend.Top = true
		p.NominalX(names...)
		p.X.Tick.Label.Rotation = 0.5
		p.X.Tick.Label.XAlign = -1
		if err := save(p, vg.Points(float64(160+60*len(names))), 5*vg.Inch, fmt.Sprintf("throughput-t%d", t)+ext); err != nil {
			return nil, err
		}
	}

	if len(rep.Threads) > 1 {
		p := plot.New()
		p.Title.Text = "Thread scaling: speed-up over the same implementation at the fewest threads"
		p.X.Label.Text = "threads"
		p.Y.Label.Text = "speed-up (median time ratio)"
		ideal, err := plotter.NewLine(plotter.XYs{{X: float64(rep.Threads[0]), Y: 1},
			{X: float64(rep.Threads[len(rep.Threads)-1]), Y: float64(rep.Threads[len(rep.Threads)-1]) / float64(rep.Threads[0])}})
		if err != nil {
			return nil, err
		}
		ideal.Color, ideal.Dashes = color.Gray{Y: 0xa0}, []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(ideal)
		p.Legend.Add("linear", ideal)
		i := 0
		for _, wl := range rep.Workloads {
			for _, impl := range rep.Impls {
				var pts plotter.XYs
				var base float64
				for _, t := range rep.Threads {
					r := rep.find(wl.Name, t, impl)
					if r == nil {
						continue
					}
					if base == 0 {
						base = r.Summary.Median
					}
					pts = append(pts, plotter.XY{X: float64(t), Y: base / r.Summary.Median})
				}
				if len(pts) < 2 {
					continue
				}
				l, s, err := plotter.NewLinePoints(pts)
				if err != nil {
					return nil, err
				}
				l.Color = implColor(impl)
				l.Dashes = plotutil.Dashes(i)
				s.Shape = plotutil.Shape(i)
				s.Color = l.Color
				p.Add(l, s)
				p.Legend.Add(wl.Name+" "+impl, l, s)
				i++
			}
		}
		if i > 0 {
			p.Legend.Top, p.Legend.Left = true, true
			if err := save(p, 7*vg.Inch, 5*vg.Inch, "scaling"+ext); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// medianRange is the smallest and largest median time among runs.
func medianRange(runs []Result) (lo, hi float64) {
	lo, hi = runs[0].Summary.Median, runs[0].Summary.Median
	for _, r := range runs {
		lo, hi = min(lo, r.Summary.Median), max(hi, r.Summary.Median)
	}
	return lo, hi
}

// find returns the timed run of impl ("" for the reference) on a workload at t threads.
func (rep *Report) find(workload string, t int, impl string) *Result {
	for i := range rep.Runs {
		r := &rep.Runs[i]
		if r.Workload != workload || r.Threads != t || r.Summary == nil {
			continue
		}
		if impl == r.Impl || (impl == "" && r.Reference == "") {
			return r
		}
	}
	return nil
}

func implColor(impl string) color.Color {
	switch impl {
	case ImplLumen:
		return color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	case ImplPyTorch:
		return color.RGBA{R: 0xee, G: 0x4c, B: 0x2c, A: 0xff}
	case ImplCandle:
		return color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}
	case ImplGonum:
		return color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	}
	return color.Gray{Y: 0x80}
}
