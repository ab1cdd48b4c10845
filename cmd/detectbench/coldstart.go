package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/scenario"
)

// The cold-start table measures the engine alone on series that have no history: a fresh
// daemon (no snapshot, global priors) and a new model on a warm daemon (its provider's priors).
// Its rows are the noise cells (λ, p0).

// coldStart is when the faults of the fresh-daemon columns start after the first call's stream
// begins, and coldHour how long the false-alarm columns watch each fresh start.
const (
	coldStart = 2 * time.Minute
	coldHour  = time.Hour
	// coldTruncation and coldRateLimit are the series' truncation and 429 rates outside faults.
	coldTruncation = truncationBefore
	coldRateLimit  = rateLimitBefore
	// coldPartial is the error rate of the partial-outage column.
	coldPartial = 0.2
	// newModel names the model that appears on a warm daemon.
	newModel = "brand-new-model"
)

// Global priors of detectors (docs/detection.md, "Priors"; the error rate's is
// DefaultConfig().ColdStartBaseline, the others are constants of the detectors package), for the "2× prior" column.
var globalErrorPrior = detectors.DefaultConfig().ColdStartBaseline

const (
	globalTruncationPrior = 0.01
	globalRateLimitPrior  = 0.02
)

// coldColumn is one column of the cold-start table.
type coldColumn struct {
	name  string
	about string
	// alarm: a false-alarm column (count of starts with an alarm), else a delay column.
	alarm bool
	// warm: the column warms a daemon up first (its cost).
	warm bool
	run  func(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error)
}

// coldColumns are the columns, in order.
var coldColumns = []coldColumn{
	{"trunc 1/3 +2m", "fresh daemon, a third of streams cut from 2 minutes after the first call: seconds to degraded or down", false, false, runColdTruncation},
	{"errors 20% +2m", "fresh daemon, 20% errors from 2 minutes after the first call: seconds to degraded or down", false, false, runColdPartial},
	{"down fresh", "fresh daemon, every call fails from the first: seconds to down", false, false, runColdDownFresh},
	{"down new model", "warm daemon, a new model that fails every call from its first: seconds to down", false, true, runColdDownNewModel},
	{"down warm", "warm daemon, its warm model fails every call from then on: seconds to down", false, true, runColdDownWarm},
	{"FA fresh", "fresh daemon at p0 (truncation 0.2%, 429s 0.5%, retry storms): starts of 100 with an alarm in the first hour", true, false, runColdNoiseFresh},
	{"FA fresh 2×prior", "fresh daemon at twice the global priors (errors 10%, truncation 2%, 429s 4%, retry storms): starts of 100 with an alarm in the first hour", true, false, runColdNoisePrior},
	{"FA new model 2×", "warm daemon at p0, a new model at twice its provider's rates (errors, truncation, 429s): starts of 100 with an alarm in its first hour", true, true, runColdNoiseNewModel},
}

// coldResult holds one row: per column, the runs' delays (NaN: missed within the cap) or
// alarm flags (1 or 0).
type coldResult struct {
	cell noiseCell
	runs [][]float64 // by column, then run
	pre  [][]bool    // a delay run alarmed before its fault
}

func coldJobs(ctx context.Context, p *plan, res *results) []job {
	var jobs []job
	for _, p0 := range p.p0s {
		for _, rate := range p.rates {
			cr := coldResult{cell: noiseCell{rate: rate, p0: p0}}
			for _, col := range coldColumns {
				n := p.runsFor(rate)
				if col.alarm {
					n = p.coldStarts
				}
				cr.runs = append(cr.runs, make([]float64, n))
				cr.pre = append(cr.pre, make([]bool, n))
			}
			res.cold = append(res.cold, cr)
		}
	}
	for c := range res.cold {
		cr := &res.cold[c]
		for k, col := range coldColumns {
			secs := coldStart.Seconds() + p.set.cap.Seconds()/4
			if col.alarm {
				secs = coldHour.Seconds()
			}
			if col.warm {
				secs += warmupFor(cr.cell.rate, p.set.warmup).Seconds() / 4
			}
			for r := range cr.runs[k] {
				seed := seedFor(p.seed, 4, cr.cell.rate, cr.cell.p0, float64(k), float64(r))
				jobs = append(jobs, job{
					cost: cost(cr.cell.rate, secs, 1),
					run: func() error {
						v, err := col.run(ctx, cr.cell, seed, p.set)
						if err != nil {
							return err
						}
						if math.IsInf(v, -1) {
							cr.pre[k][r] = true
						}
						cr.runs[k][r] = v
						return nil
					},
				})
			}
		}
	}
	return jobs
}

// watch drives a detectors.Engine: it merges streams in time order from start, ticks the engine
// at every whole second, and returns the first time key's state satisfies want (ok false when
// it has not by end). A nil want runs to end.
func watch(ctx context.Context, e *detectors.Engine, start, end time.Time, streams []*scenario.Stream, key detectors.SeriesKey, want func(detectors.State) bool) (time.Time, bool, error) {
	next := make([]detectors.Call, len(streams))
	have := make([]bool, len(streams))
	for i, s := range streams {
		have[i] = s.Next(&next[i])
	}
	tick := start.Truncate(time.Second).Add(time.Second)
	var buf []detectors.Transition
	hit := func() (time.Time, bool) {
		for _, tr := range buf {
			if want != nil && tr.Series == key && want(tr.To) {
				return tr.At, true
			}
		}
		return time.Time{}, false
	}
	for calls := 0; ; calls++ {
		i := -1
		for j := range streams {
			if have[j] && (i < 0 || next[j].Time.Before(next[i].Time)) {
				i = j
			}
		}
		if i < 0 || next[i].Time.After(end) {
			for ; !tick.After(end); tick = tick.Add(time.Second) {
				buf = e.Tick(tick, buf[:0])
				if at, ok := hit(); ok {
					return at, true, nil
				}
			}
			return time.Time{}, false, nil
		}
		for ; !tick.After(next[i].Time); tick = tick.Add(time.Second) {
			buf = e.Tick(tick, buf[:0])
			if at, ok := hit(); ok {
				return at, true, nil
			}
		}
		buf = e.Observe(next[i].Time, &next[i], buf[:0])
		if at, ok := hit(); ok {
			return at, true, nil
		}
		have[i] = streams[i].Next(&next[i])
		if calls%(1<<20) == 0 && ctx.Err() != nil {
			return time.Time{}, false, ctx.Err()
		}
	}
}

func alarmed(s detectors.State) bool { return alarmState(s) }
func isDown(s detectors.State) bool  { return s == detectors.StateDown }

var modelKey = detectors.SeriesKey{Provider: scenario.DefaultProvider, Model: scenario.DefaultModel}

func freshEngine() (*detectors.Engine, error) { return detectors.NewEngine(detectors.DefaultConfig()) }

// delayAfter runs spec on a fresh engine and returns the seconds from change to key's first
// state satisfying want, NaN when none by change + cap, −Inf when it came before change.
func delayAfter(ctx context.Context, e *detectors.Engine, streams []*scenario.Stream, from, change time.Time, set settings, key detectors.SeriesKey, want func(detectors.State) bool) (float64, error) {
	at, ok, err := watch(ctx, e, from, change.Add(set.cap), streams, key, want)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return math.NaN(), nil
	case at.Before(change):
		return math.Inf(-1), nil
	}
	return at.Sub(change).Seconds(), nil
}

func openStreams(seed uint64, specs ...scenario.Spec) ([]*scenario.Stream, error) {
	out := make([]*scenario.Stream, len(specs))
	for i, sp := range specs {
		s, err := newStream(sp, seedFor(seed, float64(i)))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// freshDelay replays spec, whose fault starts at change, on a fresh engine.
func freshDelay(ctx context.Context, spec scenario.Spec, change time.Duration, seed uint64, set settings, want func(detectors.State) bool) (float64, error) {
	e, err := freshEngine()
	if err != nil {
		return 0, err
	}
	st, err := openStreams(seed, spec)
	if err != nil {
		return 0, err
	}
	return delayAfter(ctx, e, st, scenario.Origin, scenario.Origin.Add(change), set, modelKey, want)
}

func runColdTruncation(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error) {
	return freshDelay(ctx, scenario.TruncationStorm(cell.rate, cell.p0, coldTruncation, 1.0/3, coldStart), coldStart, seed, set, alarmed)
}

func runColdPartial(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error) {
	return freshDelay(ctx, scenario.StepOutage(cell.rate, cell.p0, coldPartial, coldStart), coldStart, seed, set, alarmed)
}

func runColdDownFresh(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error) {
	return freshDelay(ctx, scenario.StepOutage(cell.rate, cell.p0, 1, 0), 0, seed, set, isDown)
}

// normal is the traffic of a warm model: streams at p0 with truncation, 429s and retry storms.
func normal(rate, p0 float64, set settings) scenario.Spec {
	return scenario.Spec{
		Rate: rate, Errors: scenario.Flat(p0), Streaming: true, Truncated: scenario.Flat(coldTruncation),
		RateLimited: scenario.Flat(coldRateLimit), RetryEvery: set.stormEvery,
	}
}

// warmDaemon returns an engine that has seen the model's normal traffic for the bench's
// warm-up, and the time the warm-up ended.
func warmDaemon(ctx context.Context, cell noiseCell, seed uint64, set settings) (*detectors.Engine, time.Time, error) {
	e, err := freshEngine()
	if err != nil {
		return nil, time.Time{}, err
	}
	end := scenario.Origin.Add(warmupFor(cell.rate, set.warmup))
	st, err := openStreams(seed, normal(cell.rate, cell.p0, set))
	if err != nil {
		return nil, time.Time{}, err
	}
	_, _, err = watch(ctx, e, scenario.Origin, end, st, modelKey, nil)
	return e, end, err
}

// afterWarm opens specs starting at the end of the warm-up.
func afterWarm(seed uint64, at time.Time, specs ...scenario.Spec) ([]*scenario.Stream, error) {
	for i := range specs {
		specs[i].Start = at
	}
	return openStreams(seedFor(seed, 9), specs...)
}

func runColdDownNewModel(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error) {
	e, at, err := warmDaemon(ctx, cell, seed, set)
	if err != nil {
		return 0, err
	}
	dead := scenario.StepOutage(cell.rate, 1, 1, 0)
	dead.Model = newModel
	st, err := afterWarm(seed, at, normal(cell.rate, cell.p0, set), dead)
	if err != nil {
		return 0, err
	}
	return delayAfter(ctx, e, st, at, at, set, detectors.SeriesKey{Provider: scenario.DefaultProvider, Model: newModel}, isDown)
}

func runColdDownWarm(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error) {
	e, at, err := warmDaemon(ctx, cell, seed, set)
	if err != nil {
		return 0, err
	}
	st, err := afterWarm(seed, at, scenario.StepOutage(cell.rate, 1, 1, 0))
	if err != nil {
		return 0, err
	}
	return delayAfter(ctx, e, st, at, at, set, modelKey, isDown)
}

// alarmWithin reports 1 when key alarms within coldHour of from, else 0.
func alarmWithin(ctx context.Context, e *detectors.Engine, from time.Time, st []*scenario.Stream, key detectors.SeriesKey) (float64, error) {
	_, ok, err := watch(ctx, e, from, from.Add(coldHour), st, key, alarmed)
	if ok {
		return 1, err
	}
	return 0, err
}

func runColdNoiseFresh(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error) {
	e, err := freshEngine()
	if err != nil {
		return 0, err
	}
	st, err := openStreams(seed, normal(cell.rate, cell.p0, set))
	if err != nil {
		return 0, err
	}
	return alarmWithin(ctx, e, scenario.Origin, st, modelKey)
}

func runColdNoisePrior(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error) {
	e, err := freshEngine()
	if err != nil {
		return 0, err
	}
	spec := scenario.Spec{
		Rate: cell.rate, Errors: scenario.Flat(2 * globalErrorPrior), Streaming: true,
		Truncated: scenario.Flat(2 * globalTruncationPrior), RateLimited: scenario.Flat(2 * globalRateLimitPrior),
		RetryEvery: set.stormEvery,
	}
	st, err := openStreams(seed, spec)
	if err != nil {
		return 0, err
	}
	return alarmWithin(ctx, e, scenario.Origin, st, modelKey)
}

func runColdNoiseNewModel(ctx context.Context, cell noiseCell, seed uint64, set settings) (float64, error) {
	e, at, err := warmDaemon(ctx, cell, seed, set)
	if err != nil {
		return 0, err
	}
	twice := scenario.Spec{
		Rate: cell.rate, Errors: scenario.Flat(2 * cell.p0), Streaming: true,
		Truncated: scenario.Flat(2 * coldTruncation), RateLimited: scenario.Flat(2 * coldRateLimit),
		RetryEvery: set.stormEvery, Model: newModel,
	}
	st, err := afterWarm(seed, at, normal(cell.rate, cell.p0, set), twice)
	if err != nil {
		return 0, err
	}
	return alarmWithin(ctx, e, at, st, detectors.SeriesKey{Provider: scenario.DefaultProvider, Model: newModel})
}

// coldRows renders the cold-start table.
func (r *results) coldRows() [][]string {
	head := []string{"cold start", "λ/s", "p0"}
	for _, c := range coldColumns {
		head = append(head, c.name)
	}
	out := [][]string{head}
	for _, cr := range r.cold {
		row := []string{"fresh series", rate(cr.cell.rate), percent(cr.cell.p0)}
		for k, col := range coldColumns {
			if col.alarm {
				n := 0.0
				for _, v := range cr.runs[k] {
					n += v
				}
				row = append(row, fmt.Sprintf("%s/100 (%d starts)", strconvPerHundred(n, len(cr.runs[k])), len(cr.runs[k])))
				continue
			}
			row = append(row, summarize(cr.runs[k], cr.pre[k]).String())
		}
		out = append(out, row)
	}
	return out
}

// strconvPerHundred scales a count over n starts to 100 starts.
func strconvPerHundred(k float64, n int) string {
	if n == 0 {
		return "0"
	}
	v := k * 100 / float64(n)
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
