package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/scenario"
)

// The callers table (issue 18, "no slower on real outages") measures the engine alone on a model
// called by k services: a fault of one service (svc-a: 95% timeouts, its own network, key or
// deploy) must be that service's local verdict and never fail the model over, and a fault of
// every service (529 on every call: the provider's) must be the provider's verdict, no slower
// than with the per-caller verdict off (detectors.Config.ConfineWait 0, the engine before
// issue 18: "today").
//
// The calls are generated here rather than by internal/scenario, whose streams have one service
// each: one Poisson stream at k × the per-caller rate whose calls pick their service at random,
// as detectors/verdict_test.go's replayCallers does, so that the warm-up is the same call for
// call in every variant of a run and only the fault differs.

// Parameters of the callers table.
const (
	callersP0 = 0.01
	// callersLocal is svc-a's timeout rate when it fails alone.
	callersLocal = 0.95
	// callersFault is how long the fault lasts (the bench's -horizon when shorter).
	callersFault = 5 * time.Minute
	// failingCaller is the service that fails alone.
	failingCaller = "svc-a"
)

// callersKs are the rows' numbers of calling services.
var callersKs = []int{2, 3, 10}

// callersVariant is one replay of a run: who fails, and whether the per-caller verdict is on.
type callersVariant struct {
	all   bool // every service fails (529), else svc-a alone (95% timeouts)
	today bool // Config.ConfineWait 0: every alarm is the provider's
}

// The variants of each run, in callersRun.out's order.
var callersVariants = []callersVariant{{false, false}, {false, true}, {true, false}, {true, true}}

const (
	oneNew = iota
	oneToday
	allNew
	allToday
)

// callersOutcome is what one replay saw after the fault: the seconds from the fault to the
// model's first degraded or down state (provider) and to svc-a's first local one (local), NaN
// when none came; localOther, a local verdict for another service; pre, a verdict of either
// kind before the fault.
type callersOutcome struct {
	provider, local float64
	providerBy      detectors.Detector // the detector of the provider verdict
	localOther      bool
	pre             bool
}

// callersRun is one run of a row: the same warm-up replayed under every variant.
type callersRun struct {
	out [allToday + 1]callersOutcome // by variant
}

// callersResult holds one row.
type callersResult struct {
	k    int
	rate float64 // calls/s of each service
	runs []callersRun
}

func callersJobs(ctx context.Context, p *plan, res *results) []job {
	for _, k := range callersKs {
		res.callers = append(res.callers, callersResult{k: k, rate: p.callerRate, runs: make([]callersRun, p.callerRuns)})
	}
	var jobs []job
	for c := range res.callers {
		cr := &res.callers[c]
		secs := warmupFor(cr.rate*float64(cr.k), p.set.warmup).Seconds() + callersFaultFor(p.set).Seconds()
		for r := range cr.runs {
			seed := seedFor(p.seed, 5, float64(cr.k), cr.rate, float64(r))
			for v, variant := range callersVariants {
				jobs = append(jobs, job{
					cost: cost(cr.rate*float64(cr.k), secs, 1),
					run: func() (err error) {
						cr.runs[r].out[v], err = replayCallers(ctx, callersReplay{k: cr.k, rate: cr.rate, variant: variant, seed: seed, set: p.set})
						return err
					},
				})
			}
		}
	}
	return jobs
}

func callersFaultFor(set settings) time.Duration { return min(set.horizon, callersFault) }

// callersReplay says what one replay of the callers table plays.
type callersReplay struct {
	k       int
	rate    float64 // calls/s of each service
	variant callersVariant
	seed    uint64
	set     settings
}

// callerStream generates the calls of k services: Poisson arrivals at k × rate, each call's
// service drawn at random, errors at callersP0 until faultAt and then as the variant says.
type callerStream struct {
	rng      *rand.Rand
	rate     float64
	names    []string
	all      bool
	faultAt  time.Time
	now      time.Time
	id       uint64
	bodyTime time.Duration
}

func newCallerStream(r callersReplay, start, faultAt time.Time) *callerStream {
	names := make([]string, r.k)
	for i := range names {
		names[i] = "svc-" + string(rune('a'+i))
	}
	return &callerStream{
		rng: rand.New(rand.NewPCG(r.seed, uint64(r.k))), rate: r.rate * float64(r.k), names: names,
		all: r.variant.all, faultAt: faultAt, now: start, bodyTime: scenario.DefaultLatency,
	}
}

// next fills c with the next call. Every call draws the same random numbers whatever the
// variant, so the variants of a run share their warm-up call for call.
func (s *callerStream) next(c *detectors.Call) {
	s.now = s.now.Add(time.Duration(s.rng.ExpFloat64() / s.rate * float64(time.Second)))
	svc := s.names[s.rng.IntN(len(s.names))]
	u, z := s.rng.Float64(), s.rng.NormFloat64()
	s.id++
	*c = detectors.Call{
		Time: s.now, Provider: scenario.DefaultProvider, Model: scenario.DefaultModel, Service: svc,
		Outcome: detectors.OutcomeOK, FinishReason: detectors.FinishStop, HTTPStatus: 200,
		Duration:     time.Duration(float64(s.bodyTime) * math.Exp(scenario.DefaultSigma*z)),
		OutputTokens: scenario.DefaultOutputTokens, RequestID: s.id,
	}
	p, class, status := callersP0, detectors.ClassOverloaded, 529
	if !s.now.Before(s.faultAt) {
		switch {
		case s.all:
			p = 1
		case svc == failingCaller:
			p, class, status = callersLocal, detectors.ClassTimeout, 504
		}
	}
	if u < p {
		c.Outcome, c.ErrorClass, c.HTTPStatus, c.FinishReason, c.OutputTokens = detectors.OutcomeError, class, status, detectors.FinishNone, 0
	}
}

// replayCallers warms an engine up on r's services at baseline, then replays the fault until
// callersFaultFor(r.set) has passed, or until the outcome can no longer change what the table
// shows: a variant whose provider verdict is its figure stops at it.
func replayCallers(ctx context.Context, r callersReplay) (callersOutcome, error) {
	cfg := detectors.DefaultConfig()
	if r.variant.today {
		cfg.ConfineWait = 0
	}
	e, err := detectors.NewEngine(cfg)
	if err != nil {
		return callersOutcome{}, fmt.Errorf("new engine: %w", err)
	}
	start := scenario.Origin
	faultAt := start.Add(warmupFor(r.rate*float64(r.k), r.set.warmup))
	end := faultAt.Add(callersFaultFor(r.set))
	// Only the default variant with one service failing runs to the end: its figure is whether
	// the model ever goes degraded or down.
	stopAtProvider := r.variant.all || r.variant.today
	out := callersOutcome{provider: math.NaN(), local: math.NaN()}
	st := newCallerStream(r, start, faultAt)
	var (
		c   detectors.Call
		buf []detectors.Transition
	)
	seen := func() bool {
		for _, tr := range buf {
			out.see(tr, faultAt)
		}
		return stopAtProvider && !math.IsNaN(out.provider)
	}
	tick := start.Add(time.Second)
	for calls := 0; ; calls++ {
		st.next(&c)
		for ; !tick.After(c.Time) && !tick.After(end); tick = tick.Add(time.Second) {
			if buf = e.Tick(tick, buf[:0]); seen() {
				return out, nil
			}
		}
		if c.Time.After(end) {
			return out, nil
		}
		if buf = e.Observe(c.Time, &c, buf[:0]); seen() {
			return out, nil
		}
		if calls%(1<<16) == 0 && ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
}

// see records a transition of the bench's model or one of its callers.
func (o *callersOutcome) see(tr detectors.Transition, faultAt time.Time) {
	if tr.Series.Own() != modelKey || !alarmState(tr.To) {
		return
	}
	if tr.At.Before(faultAt) {
		o.pre = true
		return
	}
	after := tr.At.Sub(faultAt).Seconds()
	switch {
	case tr.Series.Caller.IsZero():
		if math.IsNaN(o.provider) {
			o.provider, o.providerBy = after, tr.Evidence.Detector
		}
	case tr.Series.Caller != detectors.Caller{Kind: detectors.CallerService, Name: failingCaller}:
		o.localOther = true
	case math.IsNaN(o.local):
		o.local = after
	}
}

// callersColumns are the table's head after the row's name, per-caller rate and p0.
var callersColumns = []struct{ name, about string }{
	{"one: local", "svc-a fails alone (95% timeouts): seconds from the fault to svc-a's local verdict, mean / median, \"(k miss)\": none within the fault"},
	{"one: provider", "svc-a fails alone: runs where the model's own series went degraded or down at any point of the fault (false provider verdicts), [by the detector that set it off]"},
	{"one today: provider", "svc-a fails alone, ConfineWait 0 (the engine before issue 18): runs with a provider verdict, and its mean / median delay"},
	{"all: provider", "every call fails (529): seconds from the fault to the model's degraded or down state, mean / median"},
	{"all today: provider", "every call fails, ConfineWait 0: the same"},
	{"all: cost", "mean over the runs of the first minus the second, in milliseconds (the same calls in both)"},
	{"all: local first", "every call fails: runs with a local verdict before the provider's (false local verdicts)"},
	{"before fault", "runs with a verdict of either kind, in any variant, during the warm-up (false alarms)"},
}

// callersRows renders the callers table.
func (r *results) callersRows() [][]string {
	head := []string{"callers", "λ/s each", "p0"}
	for _, c := range callersColumns {
		head = append(head, c.name)
	}
	out := [][]string{head}
	for _, cr := range r.callers {
		n := len(cr.runs)
		count := func(f func(*callersRun) bool) string {
			k := 0
			for i := range cr.runs {
				if f(&cr.runs[i]) {
					k++
				}
			}
			return fmt.Sprintf("%d/%d", k, n)
		}
		get := func(v int, f func(callersOutcome) float64) []float64 {
			d := make([]float64, n)
			for i := range cr.runs {
				d[i] = f(cr.runs[i].out[v])
			}
			return d
		}
		provider := func(o callersOutcome) float64 { return o.provider }
		local := func(o callersOutcome) float64 { return o.local }
		today := get(oneToday, provider)
		out = append(out, []string{
			fmt.Sprintf("%d services", cr.k), rate(cr.rate), percent(callersP0),
			meanMedian(get(oneNew, local)),
			falseProvider(cr.runs),
			count(func(x *callersRun) bool { return !math.IsNaN(x.out[oneToday].provider) }) + " in " + meanMedian(today),
			meanMedian(get(allNew, provider)),
			meanMedian(get(allToday, provider)),
			pairedCostMS(get(allNew, provider), get(allToday, provider)),
			count(func(x *callersRun) bool {
				o := x.out[allNew]
				first := !math.IsNaN(o.local) && (math.IsNaN(o.provider) || o.local < o.provider)
				return first || o.localOther
			}),
			count(func(x *callersRun) bool {
				return slices.ContainsFunc(x.out[:], func(o callersOutcome) bool { return o.pre })
			}),
		})
	}
	return out
}

// falseProvider is the "one: provider" cell: the runs of a one-service fault whose model went
// degraded or down, with the detectors that set it off ("5/50 [error_rate_down:4 …]").
func falseProvider(runs []callersRun) string {
	by := map[detectors.Detector]int{}
	n := 0
	for i := range runs {
		if o := runs[i].out[oneNew]; !math.IsNaN(o.provider) {
			by[o.providerBy]++
			n++
		}
	}
	s := fmt.Sprintf("%d/%d", n, len(runs))
	if n > 0 {
		s += " " + causes(by)
	}
	return s
}

// meanMedian is a delay cell: the mean and median seconds over the runs that saw the state,
// "(k miss)" for the runs that did not, "never" when none did.
func meanMedian(delays []float64) string {
	var got []float64
	for _, d := range delays {
		if !math.IsNaN(d) {
			got = append(got, d)
		}
	}
	if len(got) == 0 {
		return "never"
	}
	slices.Sort(got)
	sum := 0.0
	for _, d := range got {
		sum += d
	}
	med := got[len(got)/2]
	if len(got)%2 == 0 {
		med = (got[len(got)/2-1] + med) / 2
	}
	s := seconds(sum/float64(len(got))) + " / " + seconds(med)
	if miss := len(delays) - len(got); miss > 0 {
		s += fmt.Sprintf(" (%d miss)", miss)
	}
	return s
}

// pairedCostMS is the mean of a−b over the runs where both are numbers, in whole milliseconds
// with a sign.
func pairedCostMS(a, b []float64) string {
	sum, n := 0.0, 0
	for i := range a {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			sum += a[i] - b[i]
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%+.0f ms", sum/float64(n)*1000)
}

// callersLegend explains the callers table.
func (r *results) callersLegend(markdown, elapsed bool) string {
	p := r.plan
	var b strings.Builder
	b.WriteString("\n")
	bullet := ""
	if markdown {
		bullet = "- "
	}
	fmt.Fprintf(&b, bullet+"callers: %s alone on one model called by k services at %s calls/s each (p0 %s errors, 529), "+
		"%d runs per row, warm-up ≥ %s, then a fault of %s; each run replays the same calls with the per-caller verdict "+
		"(DefaultConfig, ConfineWait %s) and without it (\"today\": ConfineWait 0).\n",
		engineName, rate(p.callerRate), percent(callersP0), p.callerRuns, p.set.warmup, callersFaultFor(p.set),
		detectors.DefaultConfig().ConfineWait)
	for _, c := range callersColumns {
		fmt.Fprintf(&b, bullet+"%s: %s.\n", c.name, c.about)
	}
	if elapsed {
		fmt.Fprintf(&b, bullet+"elapsed %s on %d worker(s).\n", r.elapsed.Round(1e8), p.workers)
	}
	return b.String()
}
