package main

import (
	"fmt"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/scenario"
)

// engineName is the engine's column in the table.
const engineName = "outagewatch"

// engineKind builds the outagewatch engine with cfg, wrapped as a rule.
func engineKind(cfg detectors.Config) ruleKind {
	return ruleKind{
		name:  engineName,
		about: "outagewatch engine, DefaultConfig; alarm = model series degraded or down",
		build: func() (rule, error) { return newEngineRule(cfg) },
	}
}

// transition is one state change of the model series, as the engine reported it.
type transition struct {
	from, to detectors.State
	at       time.Time
	detector detectors.Detector
}

// engineRule adapts a detectors.Engine to the rule interface. It follows the state of the
// bench's model series ({scenario.DefaultProvider, scenario.DefaultModel}) and ignores the
// provider-level series; it is alarmed while that state is degraded or down.
type engineRule struct {
	e     *detectors.Engine
	key   detectors.SeriesKey
	state detectors.State
	buf   []detectors.Transition
	// log holds every transition of the model series when record is set.
	record bool
	log    []transition
}

func newEngineRule(cfg detectors.Config) (*engineRule, error) {
	e, err := detectors.NewEngine(cfg)
	if err != nil {
		return nil, fmt.Errorf("new engine: %w", err)
	}
	return &engineRule{
		e:     e,
		key:   detectors.SeriesKey{Provider: scenario.DefaultProvider, Model: scenario.DefaultModel},
		state: detectors.StateUnknown,
	}, nil
}

func (r *engineRule) observe(now time.Time, c *detectors.Call) {
	r.buf = r.e.Observe(now, c, r.buf[:0])
	r.apply()
}

func (r *engineRule) tick(now time.Time) {
	r.buf = r.e.Tick(now, r.buf[:0])
	r.apply()
}

func (r *engineRule) apply() {
	for i := range r.buf {
		t := &r.buf[i]
		if t.Series != r.key {
			continue
		}
		r.state = t.To
		if r.record {
			r.log = append(r.log, transition{from: t.From, to: t.To, at: t.At, detector: t.Evidence.Detector})
		}
	}
}

func (r *engineRule) alarmed() bool { return alarmState(r.state) }
