// Command detectbench replays synthetic LLM-call streams through the outage rules people use
// today (Envoy outlier detection, Hystrix, the LiteLLM router cooldown, an SRE burn-rate alert)
// and through the outagewatch engine, and prints one table: per call rate and baseline error
// rate, the mean detection delay of step outages against the optimum and bound of
// docs/bench.md, the false alarms over 30 days of normal traffic, and what happens on
// truncation storms, latency and TTFT slowdowns, 429 storms, silence, recovery and flapping
// traffic; then a cold-start table of the engine alone on series with no history (a fresh
// daemon, a new model on a warm one), and a callers table of the engine alone on a model called
// by several services, one of them or all of them failing (whose failures, issue 18).
//
// Everything runs under a virtual clock, so the results depend only on the flags:
//
//	go run ./cmd/detectbench                 # full table, one core
//	go run ./cmd/detectbench -quick -parallel
//	go run ./cmd/detectbench -markdown > table.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "detectbench:", err)
		os.Exit(1)
	}
}

// run parses args, replays the experiments and writes the table to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	p, opts, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	kinds := referenceRules()
	if opts.engine {
		kinds = append(kinds, engineKind(detectors.DefaultConfig()))
	}
	if opts.cpuProfile != "" {
		stopProfile, err := startCPUProfile(opts.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	res, err := execute(ctx, p, kinds)
	if err != nil {
		return err
	}
	return res.write(stdout, opts.markdown)
}

// startCPUProfile writes a CPU profile of the replays to path until the returned func is
// called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// output holds the flags that do not change what is replayed.
type output struct {
	markdown   bool
	engine     bool
	cpuProfile string
}

// parseFlags turns the command line into a plan.
func parseFlags(args []string, usage io.Writer) (*plan, output, error) {
	fs := flag.NewFlagSet("detectbench", flag.ContinueOnError)
	fs.SetOutput(usage)
	var (
		quick     = fs.Bool("quick", false, "fast run: λ ≤ 10, 10 runs per delay cell, 5 per scenario, 7 days of noise, 20 cold starts, 10 runs per callers row")
		runs      = fs.Int("runs", 50, "step outages per delay cell at λ ≥ 1 (half as many at λ < 1)")
		scRuns    = fs.Int("scenario-runs", 10, "runs per scenario row")
		days      = fs.Int("days", 30, "simulated days of normal traffic per false-alarm row (0 skips them)")
		markdown  = fs.Bool("markdown", false, "print a Markdown table")
		parallel  = fs.Bool("parallel", false, "replay on every core (GOMAXPROCS)")
		engine    = fs.Bool("engine", true, "include the outagewatch engine")
		rates     = fs.String("rates", "", "comma-separated call rates λ (default 0.1,1,10,100; 0.1,1,10 with -quick)")
		sections  = fs.String("sections", "delay,noise,scenarios,coldstart,callers", "which rows to replay (coldstart: the cold-start table; callers: the several-callers table; both engine only)")
		coldN     = fs.Int("cold-starts", 100, "fresh starts per false-alarm cell of the cold-start table")
		callerN   = fs.Int("caller-runs", 50, "runs per row of the callers table (10 with -quick)")
		callerR   = fs.Float64("caller-rate", 7, "calls/s of each service in the callers table")
		seed      = fs.Uint64("seed", 1, "base random seed")
		warmup    = fs.Duration("warmup", 2*time.Hour, "minimum baseline traffic before each change (and ≥ 200 calls)")
		capDelay  = fs.Duration("cap", 30*time.Minute, "a rule that has not alarmed this long after the change missed")
		horizon   = fs.Duration("horizon", 30*time.Minute, "how long scenario runs last after their change")
		stormEach = fs.Int("storm-every", 1000, "mean logical requests between retry storms in the noise rows (0: none)")
		cpuProf   = fs.String("cpuprofile", "", "write a CPU profile of the replays to this file")
	)
	if err := fs.Parse(args); err != nil {
		return nil, output{}, err
	}
	if fs.NArg() > 0 {
		return nil, output{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	p := &plan{
		p0s: benchP0s, p1s: benchP1s, runs: *runs, scenarioRuns: *scRuns, days: *days, seed: *seed, coldStarts: *coldN,
		callerRuns: *callerN, callerRate: *callerR,
		workers: 1,
		set:     settings{warmup: *warmup, cap: *capDelay, horizon: *horizon, stormEvery: *stormEach},
	}
	p.rates = benchRates
	if *quick {
		p.rates = []float64{0.1, 1, 10}
		p.runs, p.scenarioRuns = min(p.runs, 10), min(p.scenarioRuns, 5)
		if !isSet(fs, "cold-starts") {
			p.coldStarts = 20
		}
		if !isSet(fs, "caller-runs") {
			p.callerRuns = 10
		}
		if !isSet(fs, "days") {
			p.days = 7
		}
	}
	if *rates != "" {
		rs, err := parseRates(*rates)
		if err != nil {
			return nil, output{}, err
		}
		p.rates = rs
	}
	if *parallel {
		p.workers = runtime.GOMAXPROCS(0)
	}
	if err := p.setSections(*sections); err != nil {
		return nil, output{}, err
	}
	if err := p.validate(); err != nil {
		return nil, output{}, err
	}
	return p, output{markdown: *markdown, engine: *engine, cpuProfile: *cpuProf}, nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(r > 0) {
			return nil, fmt.Errorf("rates: %q is not a positive number", f)
		}
		out = append(out, r)
	}
	return out, nil
}

func (p *plan) setSections(s string) error {
	days := p.days
	p.days = 0
	for f := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(f) {
		case "delay":
			p.delays = true
		case "noise":
			p.days = days
		case "scenarios":
			p.scenarios = true
		case "coldstart":
			p.cold = true
		case "callers":
			p.callers = true
		default:
			return fmt.Errorf("sections: unknown section %q (want delay, noise, scenarios, coldstart or callers)", f)
		}
	}
	return nil
}

func (p *plan) validate() error {
	var errs []error
	if p.runs < 1 {
		errs = append(errs, errors.New("runs: must be at least 1"))
	}
	if p.coldStarts < 1 {
		errs = append(errs, errors.New("cold-starts: must be at least 1"))
	}
	if p.callerRuns < 1 {
		errs = append(errs, errors.New("caller-runs: must be at least 1"))
	}
	if !(p.callerRate > 0) || math.IsInf(p.callerRate, 0) {
		errs = append(errs, errors.New("caller-rate: must be positive and finite"))
	}
	if p.scenarioRuns < 1 {
		errs = append(errs, errors.New("scenario-runs: must be at least 1"))
	}
	if p.days < 0 {
		errs = append(errs, errors.New("days: must not be negative"))
	}
	if p.set.warmup < 0 || p.set.cap <= 0 || p.set.horizon <= 0 {
		errs = append(errs, errors.New("warmup must not be negative; cap and horizon must be positive"))
	}
	if p.set.stormEvery < 0 || p.set.stormEvery == 1 {
		errs = append(errs, errors.New("storm-every: must be 0 or at least 2"))
	}
	return errors.Join(errs...)
}
