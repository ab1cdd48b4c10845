package main

import (
	"context"
	"math"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/scenario"
)

// settings are the replay parameters shared by every experiment.
type settings struct {
	// warmup is the minimum time at baseline before a change (see warmupFor).
	warmup time.Duration
	// cap ends a delay run this long after the change: a rule that has not alarmed by then
	// missed.
	cap time.Duration
	// horizon is how long a scenario run lasts after its change.
	horizon time.Duration
	// stormEvery is the mean number of logical requests between retry storms in the noise
	// runs (scenario.Spec.RetryEvery); 0 disables them.
	stormEvery int
}

// delayCell is one step outage: rate calls/s whose error rate steps from p0 to p1.
type delayCell struct {
	rate, p0, p1 float64
}

// delayRun is the outcome of one step outage for every rule: the delay in seconds from the
// change to the rule's first alarm (NaN if it missed), or pre when the rule was already
// alarmed at the change.
type delayRun struct {
	delay []float64
	pre   []bool
}

// runDelay replays one step outage: a warm-up at p0, then p1 until every rule has alarmed or
// the cap has passed.
func runDelay(ctx context.Context, kinds []ruleKind, cell delayCell, seed uint64, set settings) (delayRun, error) {
	rules, err := buildRules(kinds)
	if err != nil {
		return delayRun{}, err
	}
	warm := warmupFor(cell.rate, set.warmup)
	st, err := newStream(scenario.StepOutage(cell.rate, cell.p0, cell.p1, warm), seed)
	if err != nil {
		return delayRun{}, err
	}
	change := st.Start().Add(warm)
	res := delayRun{delay: make([]float64, len(rules)), pre: make([]bool, len(rules))}
	for i := range res.delay {
		res.delay[i] = math.NaN()
	}
	watching, pending := false, 0
	rp := newReplay(rules, st.Start(), func(i int, at time.Time, on bool) {
		if watching && on && math.IsNaN(res.delay[i]) && !res.pre[i] {
			res.delay[i] = at.Sub(change).Seconds()
			pending--
		}
	})
	var c detectors.Call
	have := st.Next(&c)
	for ; have && c.Time.Before(change); have = st.Next(&c) {
		if err := rp.call(ctx, &c); err != nil {
			return delayRun{}, err
		}
	}
	rp.until(change)
	for i := range rules {
		res.pre[i] = rp.on[i]
		if !res.pre[i] {
			pending++
		}
	}
	watching = true
	deadline := change.Add(set.cap)
	for ; have && pending > 0 && !c.Time.After(deadline); have = st.Next(&c) {
		if err := rp.call(ctx, &c); err != nil {
			return delayRun{}, err
		}
	}
	if pending > 0 {
		rp.until(deadline)
	}
	return res, nil
}

// noiseCell is normal traffic: rate calls/s at error rate p0, with retry storms.
type noiseCell struct {
	rate, p0 float64
}

// noiseRun is the outcome of days of normal traffic: each rule's number of alarm onsets, and
// the detectors behind the engine's.
type noiseRun struct {
	onsets []int
	causes map[detectors.Detector]int
}

// runNoise replays a warm-up and then days of normal traffic, and counts each rule's alarm
// onsets after the warm-up. The warm-up keeps start-up artefacts (windows that hold a handful
// of calls, the engine's cold start) out of the count.
func runNoise(ctx context.Context, kinds []ruleKind, cell noiseCell, days int, seed uint64, set settings) (noiseRun, error) {
	rules, err := buildRules(kinds)
	if err != nil {
		return noiseRun{}, err
	}
	eng := recordEngine(rules)
	st, err := newStream(scenario.Noise(cell.rate, cell.p0, set.stormEvery), seed)
	if err != nil {
		return noiseRun{}, err
	}
	from := st.Start().Add(warmupFor(cell.rate, set.warmup))
	res := noiseRun{onsets: make([]int, len(rules)), causes: map[detectors.Detector]int{}}
	rp := newReplay(rules, st.Start(), func(i int, at time.Time, on bool) {
		if on && at.After(from) {
			res.onsets[i]++
		}
	})
	end := from.Add(time.Duration(days) * 24 * time.Hour)
	var c detectors.Call
	for st.Next(&c) && !c.Time.After(end) {
		if err := rp.call(ctx, &c); err != nil {
			return noiseRun{}, err
		}
		if eng != nil && len(eng.log) > 64 {
			eng.log = countCauses(eng.log, from, res.causes)
		}
	}
	rp.until(end)
	if eng != nil {
		countCauses(eng.log, from, res.causes)
	}
	return res, nil
}

// recordEngine turns on the transition log of the engine among rules and returns it, or nil.
func recordEngine(rules []rule) *engineRule {
	for _, r := range rules {
		if e, ok := r.(*engineRule); ok {
			e.record = true
			return e
		}
	}
	return nil
}

// countCauses adds the detectors of the alarm onsets in log after from to causes, and returns
// the log emptied.
func countCauses(log []transition, from time.Time, causes map[detectors.Detector]int) []transition {
	for _, t := range log {
		if t.at.After(from) && alarmState(t.to) && !alarmState(t.from) {
			causes[t.detector]++
		}
	}
	return log[:0]
}

func alarmState(s detectors.State) bool {
	return s == detectors.StateDegraded || s == detectors.StateDown
}
