package main

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// plan says which experiments to replay.
type plan struct {
	rates []float64
	p0s   []float64
	p1s   []float64
	// runs is the number of step outages per delay cell at λ ≥ 1; λ < 1 gets half (at least
	// 5), since each run there is mostly warm-up and ticking.
	runs int
	// scenarioRuns is the number of runs per scenario row.
	scenarioRuns int
	// days of normal traffic per false-alarm row; 0 skips the false-alarm rows.
	days      int
	delays    bool
	scenarios bool
	// cold replays the cold-start table (coldstart.go), with coldStarts fresh starts per
	// false-alarm cell.
	cold       bool
	coldStarts int
	// callers replays the callers table (callers.go): callerRuns runs per row, each service
	// calling at callerRate calls/s.
	callers    bool
	callerRuns int
	callerRate float64
	seed       uint64
	workers    int
	set        settings
}

// runsFor returns the number of delay runs at rate.
func (p *plan) runsFor(rate float64) int {
	if rate >= 1 {
		return p.runs
	}
	return max(p.runs/2, min(p.runs, 5))
}

// delayResult holds the runs of one delay cell.
type delayResult struct {
	cell delayCell
	runs []delayRun
}

// noiseResult holds the alarm onsets of each rule over days of normal traffic.
type noiseResult struct {
	cell noiseCell
	days int
	run  noiseRun
}

// scenarioResult holds the runs of one scenario row.
type scenarioResult struct {
	def  scenarioDef
	rate float64
	runs []scenarioRun
}

// results is everything the table shows.
type results struct {
	kinds     []ruleKind
	plan      *plan
	delays    []delayResult
	noise     []noiseResult
	scenarios []scenarioResult
	cold      []coldResult
	callers   []callersResult
	elapsed   time.Duration
}

// job is one replay; cost estimates its calls and ticks so that the longest start first.
type job struct {
	cost float64
	run  func() error
}

// execute replays every experiment of p with the rules of kinds.
func execute(ctx context.Context, p *plan, kinds []ruleKind) (*results, error) {
	start := time.Now()
	res := &results{kinds: kinds, plan: p}
	var jobs []job
	if p.delays {
		jobs = append(jobs, delayJobs(ctx, p, kinds, res)...)
	}
	if p.days > 0 {
		jobs = append(jobs, noiseJobs(ctx, p, kinds, res)...)
	}
	if p.scenarios {
		jobs = append(jobs, scenarioJobs(ctx, p, kinds, res)...)
	}
	if p.cold && res.engineIndex() >= 0 {
		jobs = append(jobs, coldJobs(ctx, p, res)...)
	}
	if p.callers && res.engineIndex() >= 0 {
		jobs = append(jobs, callersJobs(ctx, p, res)...)
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return cmp.Compare(b.cost, a.cost) })
	if err := runJobs(ctx, p.workers, jobs); err != nil {
		return nil, err
	}
	res.elapsed = time.Since(start)
	return res, nil
}

func delayJobs(ctx context.Context, p *plan, kinds []ruleKind, res *results) []job {
	var jobs []job
	for _, p0 := range p.p0s {
		for _, p1 := range p.p1s {
			for _, rate := range p.rates {
				cell := delayCell{rate: rate, p0: p0, p1: p1}
				res.delays = append(res.delays, delayResult{cell: cell, runs: make([]delayRun, p.runsFor(rate))})
			}
		}
	}
	for d := range res.delays {
		dr := &res.delays[d]
		warm := warmupFor(dr.cell.rate, p.set.warmup).Seconds()
		for r := range dr.runs {
			seed := seedFor(p.seed, 1, dr.cell.rate, dr.cell.p0, dr.cell.p1, float64(r))
			jobs = append(jobs, job{
				cost: cost(dr.cell.rate, warm+p.set.cap.Seconds()/4, len(kinds)),
				run: func() (err error) {
					dr.runs[r], err = runDelay(ctx, kinds, dr.cell, seed, p.set)
					return err
				},
			})
		}
	}
	return jobs
}

func noiseJobs(ctx context.Context, p *plan, kinds []ruleKind, res *results) []job {
	var jobs []job
	for _, p0 := range p.p0s {
		for _, rate := range p.rates {
			res.noise = append(res.noise, noiseResult{cell: noiseCell{rate: rate, p0: p0}, days: p.days})
		}
	}
	for n := range res.noise {
		nr := &res.noise[n]
		seed := seedFor(p.seed, 2, nr.cell.rate, nr.cell.p0, float64(p.days))
		jobs = append(jobs, job{
			cost: cost(nr.cell.rate, float64(p.days)*86400, len(kinds)),
			run: func() (err error) {
				nr.run, err = runNoise(ctx, kinds, nr.cell, p.days, seed, p.set)
				return err
			},
		})
	}
	return jobs
}

func scenarioJobs(ctx context.Context, p *plan, kinds []ruleKind, res *results) []job {
	var jobs []job
	for _, def := range scenarioDefs {
		for _, rate := range p.rates {
			res.scenarios = append(res.scenarios, scenarioResult{def: def, rate: rate, runs: make([]scenarioRun, p.scenarioRuns)})
		}
	}
	for s := range res.scenarios {
		sr := &res.scenarios[s]
		warm := warmupFor(sr.rate, p.set.warmup).Seconds()
		for r := range sr.runs {
			seed := seedFor(p.seed, 3, sr.rate, float64(s), float64(r))
			jobs = append(jobs, job{
				cost: cost(sr.rate, warm+p.set.horizon.Seconds(), len(kinds)),
				run: func() (err error) {
					sr.runs[r], err = runScenario(ctx, kinds, sr.def, sr.rate, seed, p.set)
					return err
				},
			})
		}
	}
	return jobs
}

// cost estimates the work of replaying seconds of traffic at rate through n rules: a call
// costs about as much as ten ticks.
func cost(rate, seconds float64, n int) float64 { return (rate*10 + 1) * seconds * float64(n) }

// runJobs runs jobs on workers goroutines in order and returns the first error, or the
// context's error if it was cancelled first.
func runJobs(ctx context.Context, workers int, jobs []job) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	ch := make(chan job)
	for range max(workers, 1) {
		wg.Go(func() {
			for j := range ch {
				if err := j.run(); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// seedFor derives the seed of one run from the base seed and the run's coordinates, so that
// a run's calls do not depend on the order or parallelism of the jobs.
func seedFor(base uint64, parts ...float64) uint64 {
	h := splitmix64(base)
	for _, p := range parts {
		h = splitmix64(h ^ math.Float64bits(p))
	}
	return h
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
