package main

import (
	"context"
	"math"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/scenario"
)

// scenarioDef is one of the special scenarios: a spec with a change at a given time.
type scenarioDef struct {
	name string
	spec func(rate float64, change time.Duration) scenario.Spec
}

// Scenario parameters: baseline error rate, and the shape of the recovery and flapping runs.
const (
	scenarioP0       = 0.01
	recoveryOutage   = 5 * time.Minute
	flappingPeriod   = 5 * time.Minute
	truncationBefore = 0.002
	rateLimitBefore  = 0.005
	rateLimitAfter   = 0.6
)

// scenarioDefs are the rows of the table after the delays and false alarms.
var scenarioDefs = []scenarioDef{
	{"truncation 1/3", func(rate float64, ch time.Duration) scenario.Spec {
		return scenario.TruncationStorm(rate, scenarioP0, truncationBefore, 1.0/3, ch)
	}},
	{"latency ×2", func(rate float64, ch time.Duration) scenario.Spec {
		return scenario.LatencySlowdown(rate, scenarioP0, 2, ch)
	}},
	{"TTFT ×3", func(rate float64, ch time.Duration) scenario.Spec {
		return scenario.TTFTSlowdown(rate, scenarioP0, 3, ch)
	}},
	{"429 storm 60%", func(rate float64, ch time.Duration) scenario.Spec {
		return scenario.RateLimitStorm(rate, scenarioP0, rateLimitBefore, rateLimitAfter, ch)
	}},
	{"silence", func(rate float64, ch time.Duration) scenario.Spec {
		return scenario.Silence(rate, scenarioP0, ch)
	}},
	{"recovery 100%/5m", func(rate float64, ch time.Duration) scenario.Spec {
		return scenario.Recovery(rate, scenarioP0, 1, ch, ch+recoveryOutage)
	}},
	{"flapping 5m", func(rate float64, ch time.Duration) scenario.Spec {
		return scenario.Flapping(rate, scenarioP0, ch, flappingPeriod)
	}},
}

// scenarioRun is the outcome of one scenario run: each rule's first alarm after the change
// (seconds, NaN if none) or pre when it was alarmed at the change, and the engine's state at
// the change and transitions after it (times relative to the change).
type scenarioRun struct {
	first    []float64
	pre      []bool
	atChange detectors.State
	path     []step
	engine   bool // whether the engine took part
}

// step is one transition of the engine's model series after a scenario's change.
type step struct {
	to       detectors.State
	after    float64 // seconds since the change
	detector detectors.Detector
}

// runScenario replays def at rate: a warm-up at baseline, the change, then the horizon.
func runScenario(ctx context.Context, kinds []ruleKind, def scenarioDef, rate float64, seed uint64, set settings) (scenarioRun, error) {
	rules, err := buildRules(kinds)
	if err != nil {
		return scenarioRun{}, err
	}
	eng := recordEngine(rules)
	warm := warmupFor(rate, set.warmup)
	st, err := newStream(def.spec(rate, warm), seed)
	if err != nil {
		return scenarioRun{}, err
	}
	change := st.Start().Add(warm)
	res := scenarioRun{first: make([]float64, len(rules)), pre: make([]bool, len(rules)), engine: eng != nil}
	for i := range res.first {
		res.first[i] = math.NaN()
	}
	watching := false
	rp := newReplay(rules, st.Start(), func(i int, at time.Time, on bool) {
		if watching && on && math.IsNaN(res.first[i]) && !res.pre[i] {
			res.first[i] = at.Sub(change).Seconds()
		}
	})
	var c detectors.Call
	have := st.Next(&c)
	for ; have && c.Time.Before(change); have = st.Next(&c) {
		if err := rp.call(ctx, &c); err != nil {
			return scenarioRun{}, err
		}
	}
	rp.until(change)
	copy(res.pre, rp.on)
	watching = true
	end := change.Add(set.horizon)
	for ; have && !c.Time.After(end); have = st.Next(&c) {
		if err := rp.call(ctx, &c); err != nil {
			return scenarioRun{}, err
		}
	}
	rp.until(end)
	if eng != nil {
		res.atChange = detectors.StateUnknown
		for _, t := range eng.log {
			if !t.at.After(change) {
				res.atChange = t.to
				continue
			}
			res.path = append(res.path, step{to: t.to, after: t.at.Sub(change).Seconds(), detector: t.detector})
		}
	}
	return res, nil
}
