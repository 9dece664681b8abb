package pixelcolor

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Example is one labelled feature vector.
type Example struct {
	X     []float32
	Label string
}

// TrainOptions are the classifier's training settings.
type TrainOptions struct {
	// Hidden units of the one hidden layer.
	Hidden int
	// MinN is the training examples a colour needs to be a class.
	MinN int
	// Epochs bounds the passes over the training examples; Patience stops
	// after that many epochs without a better validation loss.
	Epochs, Patience int
	// Batch is the minibatch size, LR Adam's step size and Decay the
	// decoupled weight decay per step (times LR).
	Batch     int
	LR, Decay float64
	// Seed fixes the initial weights and the order of the examples.
	Seed uint64
}

// minScale is the least spread a feature is standardised by.
const minScale = 0.01

// DefaultTrainOptions are the settings the shipped classifier was
// trained with.
var DefaultTrainOptions = TrainOptions{Hidden: 96, MinN: 30, Epochs: 40, Patience: 4, Batch: 64, LR: 1e-3, Decay: 0.05, Seed: 17}

// TrainReport describes a training run.
type TrainReport struct {
	// Epochs run and BestEpoch, whose weights were kept (1-based).
	Epochs, BestEpoch int
	// ValLoss is the best mean validation log-loss, ValAccuracy the
	// validation accuracy then, over the validation examples of a class.
	ValLoss, ValAccuracy float64
}

// Train fits a classifier on train with Adam, deterministic for a seed
// (one goroutine, fixed order), keeping the weights of the epoch with the
// lowest log-loss on val (early stopping). Examples of a colour with fewer
// than opt.MinN training examples are dropped.
func Train(train, val []Example, opt TrainOptions) (*Classifier, TrainReport, error) {
	var rep TrainReport
	if len(train) == 0 {
		return nil, rep, errors.New("train: no examples")
	}
	nf := len(train[0].X)
	counts := map[string]int{}
	for _, e := range train {
		if len(e.X) != nf || nf == 0 {
			return nil, rep, fmt.Errorf("train: feature vector of %d, want %d", len(e.X), nf)
		}
		counts[e.Label]++
	}
	var classes []string
	for v, n := range counts {
		if n >= opt.MinN {
			classes = append(classes, v)
		}
	}
	sort.Strings(classes)
	if len(classes) < 2 {
		return nil, rep, errors.New("train: fewer than two colours with enough examples")
	}
	index := map[string]int{}
	for i, v := range classes {
		index[v] = i
	}
	type ex struct {
		x []float64
		y int
	}
	var tr, va []ex
	for _, e := range train {
		if y, ok := index[e.Label]; ok {
			tr = append(tr, ex{x: widen(e.X), y: y})
		}
	}
	for _, e := range val {
		if y, ok := index[e.Label]; ok && len(e.X) == nf {
			va = append(va, ex{x: widen(e.X), y: y})
		}
	}
	// Standardise with the training examples' mean and spread.
	nh, nc := opt.Hidden, len(classes)
	mean, scale := make([]float64, nf), make([]float64, nf)
	for _, e := range tr {
		for i, x := range e.x {
			mean[i] += x
		}
	}
	for i := range mean {
		mean[i] /= float64(len(tr))
	}
	for _, e := range tr {
		for i, x := range e.x {
			scale[i] += (x - mean[i]) * (x - mean[i])
		}
	}
	// A floor on the spread keeps a feature that is (nearly) constant in
	// training, such as a rare histogram cell, from growing without bound
	// in an image that has it.
	for i := range scale {
		scale[i] = max(math.Sqrt(scale[i]/float64(len(tr))), minScale)
	}
	// The stored model holds float32 standardisation: use the same here.
	for i := range mean {
		mean[i], scale[i] = float64(float32(mean[i])), float64(float32(scale[i]))
	}
	std := func(es []ex) {
		for _, e := range es {
			for i := range e.x {
				e.x[i] = (e.x[i] - mean[i]) / scale[i]
			}
		}
	}
	std(tr)
	std(va)

	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
	// Parameters in one slice: W1, B1, W2, B2.
	o1, o2, o3 := nh*nf, nh*nf+nh, nh*nf+nh+nc*nh
	params := make([]float64, o3+nc)
	he1, he2 := math.Sqrt(2/float64(nf)), math.Sqrt(2/float64(nh))
	for i := range o1 {
		params[i] = rng.NormFloat64() * he1
	}
	for i := o2; i < o3; i++ {
		params[i] = rng.NormFloat64() * he2 / 2
	}
	grad := make([]float64, len(params))
	m, v := make([]float64, len(params)), make([]float64, len(params))
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	step := 0
	h, p := make([]float64, nh), make([]float64, nc)
	dh := make([]float64, nh)
	forward := func(x []float64) { mlp(x, params[:o1], params[o1:o2], params[o2:o3], params[o3:], h, p) }
	loss := func(es []ex) (float64, float64) {
		if len(es) == 0 {
			return 0, 0
		}
		l, right := 0.0, 0
		for _, e := range es {
			forward(e.x)
			l -= math.Log(max(p[e.y], 1e-12))
			best := 0
			for c := range p {
				if p[c] > p[best] {
					best = c
				}
			}
			if best == e.y {
				right++
			}
		}
		return l / float64(len(es)), float64(right) / float64(len(es))
	}
	best := append([]float64(nil), params...)
	rep.ValLoss = math.Inf(1)
	order := make([]int, len(tr))
	for i := range order {
		order[i] = i
	}
	for epoch := 1; epoch <= opt.Epochs; epoch++ {
		rep.Epochs = epoch
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for lo := 0; lo < len(order); lo += opt.Batch {
			batch := order[lo:min(lo+opt.Batch, len(order))]
			clear(grad)
			for _, bi := range batch {
				e := tr[bi]
				forward(e.x)
				p[e.y]--
				clear(dh)
				for c, g := range p {
					row := params[o2+c*nh : o2+(c+1)*nh]
					grow := grad[o2+c*nh : o2+(c+1)*nh]
					for j := range row {
						grow[j] += g * h[j]
						dh[j] += g * row[j]
					}
					grad[o3+c] += g
				}
				for j, d := range dh {
					if h[j] <= 0 || d == 0 {
						continue
					}
					grow := grad[j*nf : (j+1)*nf]
					for i, x := range e.x {
						grow[i] += d * x
					}
					grad[o1+j] += d
				}
			}
			step++
			inv := 1 / float64(len(batch))
			c1, c2 := 1-math.Pow(beta1, float64(step)), 1-math.Pow(beta2, float64(step))
			for i, g := range grad {
				g *= inv
				m[i] = beta1*m[i] + (1-beta1)*g
				v[i] = beta2*v[i] + (1-beta2)*g*g
				params[i] -= opt.LR * (m[i]/c1/(math.Sqrt(v[i]/c2)+eps) + opt.Decay*params[i])
			}
		}
		l, acc := loss(va)
		if len(va) == 0 {
			l, acc = loss(tr)
		}
		if l < rep.ValLoss {
			rep.ValLoss, rep.ValAccuracy, rep.BestEpoch = l, acc, epoch
			copy(best, params)
		} else if epoch-rep.BestEpoch >= opt.Patience {
			break
		}
	}
	version := FeatureVersion
	if nf != NumFeatures {
		version = "" // the caller names its features
	}
	c := &Classifier{
		Version: version,
		Classes: classes,
		Hidden:  nh,
		Mean:    narrow(mean),
		Scale:   narrow(scale),
		W1:      narrow(best[:o1]),
		B1:      narrow(best[o1:o2]),
		W2:      narrow(best[o2:o3]),
		B2:      narrow(best[o3:]),
	}
	for _, v := range classes {
		c.Counts = append(c.Counts, counts[v])
	}
	return c, rep, nil
}

func widen(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func narrow(x []float64) Floats {
	out := make(Floats, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
