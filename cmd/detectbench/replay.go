package main

import (
	"context"
	"fmt"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/scenario"
)

// replay feeds calls to a set of rules in time order, ticks every rule at every whole second
// of virtual time, and reports each change of a rule's alarm to edge.
type replay struct {
	rules []rule
	on    []bool
	next  time.Time // the next tick
	edge  func(i int, at time.Time, on bool)
	calls uint64
}

func newReplay(rules []rule, start time.Time, edge func(i int, at time.Time, on bool)) *replay {
	return &replay{
		rules: rules,
		on:    make([]bool, len(rules)),
		next:  start.Truncate(time.Second).Add(time.Second),
		edge:  edge,
	}
}

// until ticks every rule at each whole second up to and including t.
func (r *replay) until(t time.Time) {
	for !r.next.After(t) {
		for _, ru := range r.rules {
			ru.tick(r.next)
		}
		r.check(r.next)
		r.next = r.next.Add(time.Second)
	}
}

// call ticks up to c.Time and then feeds c to every rule. Every million calls it returns
// ctx's error, if any, so that a long replay stops soon after a cancellation.
func (r *replay) call(ctx context.Context, c *detectors.Call) error {
	r.until(c.Time)
	for _, ru := range r.rules {
		ru.observe(c.Time, c)
	}
	r.check(c.Time)
	r.calls++
	if r.calls%(1<<20) == 0 {
		return ctx.Err()
	}
	return nil
}

func (r *replay) check(at time.Time) {
	for i, ru := range r.rules {
		if a := ru.alarmed(); a != r.on[i] {
			r.on[i] = a
			if r.edge != nil {
				r.edge(i, at, a)
			}
		}
	}
}

// buildRules returns a fresh instance of each kind.
func buildRules(kinds []ruleKind) ([]rule, error) {
	rules := make([]rule, len(kinds))
	for i, k := range kinds {
		r, err := k.build()
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", k.name, err)
		}
		rules[i] = r
	}
	return rules, nil
}

// warmupFor is how long a stream at rate runs at its baseline before the change: at least
// min and at least 200 calls, in whole seconds, so that the engine has left its cold start
// (≥ 50 calls and ≥ 1 h by default) and the rules' windows are full.
func warmupFor(rate float64, min time.Duration) time.Duration {
	w := max(min, time.Duration(200/rate*float64(time.Second)))
	if r := w % time.Second; r != 0 {
		w += time.Second - r
	}
	return w
}

// newStream seeds spec and opens its stream.
func newStream(spec scenario.Spec, seed uint64) (*scenario.Stream, error) {
	spec.Seed = seed
	return scenario.New(spec)
}
