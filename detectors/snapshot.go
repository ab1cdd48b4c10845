package detectors

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"fmt"
	"io"
	"slices"
	"time"
)

// snapshotVersion is bumped whenever the encoding changes; Restore refuses versions it does not
// know rather than misread them.
//   - 1: baselines and traffic only. Restore brings the series back unknown; still accepted.
//   - 2: also the state machine, so that a restart does not forget an outage; still accepted.
//   - 3: also the lagged counts a series still on its priors is designed on (Lag, LagAt).
//     A version 2 snapshot restores its new series with none: they are designed on their
//     priors alone (wider baselines) until lagCalls calls have come.
const snapshotVersion = 3

// A snapshot keeps, for every series (models and providers):
//
//   - what it learned: the error, truncation and 429 baselines (per hour of week and EWMA), the
//     latency and TTFT baselines, the peak rate that sets λ_ref, the call rate that sets the
//     silence timeout, its first and last call and its call count (version 1);
//   - where its state machine stands (version 2): the state, since when and the evidence of the
//     last transition; whether the warm-up is over; each member's design (p0, p1, h) and CUSUM
//     statistic with its change point, counts, error classes and sample error; the latched
//     alarms with their level, hold-down deadline, reverse CUSUM and counts; the number of
//     recent entries into down (the hold-down's back-off); when it was last designed, aged and
//     decayed; and the recent figures Status reports (decayed counts, latency and TTFT sketches);
//   - for a series still on its priors (version 3), the lagged counts its baselines are designed
//     on.
//
// So a restored engine answers Status as the saved one did, and continues from its next call
// or tick exactly as the saved engine would have: a down series stays down until the normal
// hold-down and reverse test clear it, and a snapshot older than a series' silence timeout
// makes it unknown on the first Tick, as for a live engine that had seen no call meanwhile.
//
// A snapshot does not keep:
//
//   - the retry memory (which logical requests already gave their errors, kept ten minutes): a
//     request retried across the restart may count one error more;
//   - the counters Refused and Folded, which are the process's;
//   - the configuration: members keep the thresholds the saved engine designed, and a changed
//     configuration takes effect at their next redesign (within a minute of calls or ticks).
type snapshot struct {
	Version int
	Series  []seriesSnapshot
}

// seriesSnapshot is one series. gob matches fields by name, so a version 1 snapshot decodes
// into it with the version 2 fields zero. Members and a member's Classes are indexed by
// position: appending a member or an error class needs no new version, reordering them does.
type seriesSnapshot struct {
	// Version 1: baselines and traffic.
	Provider, Model     string
	Calls               uint64
	FirstSeen, LastCall time.Time
	Err, Trunc, Rate    rateBaseline
	TTFT, Latency       sketch
	Peak                peakRate
	CallRate            decayed

	// Version 2: the state machine.
	State                         State
	Since                         time.Time
	Evidence                      Evidence
	Warm                          bool
	DesignedAt, DecayedAt, AgedAt time.Time
	Members                       []cusumSnapshot // by member, in the bank's order
	Latches                       []latchSnapshot
	TTFTRecent, LatencyRecent     sketch
	TTFTLimit, LatencyLimit       float64
	FigCalls, FigErrors           decayed
	FigTruncation, FigRateLimit   decayed
	DownCount                     int
	DownDecayAt                   time.Time

	// Version 3: the lagged counts of a series on its priors, by lag and then rate.
	Lag   []decayed
	LagAt uint64

	// The local verdicts (issue 18; absent from older snapshots, which had none).
	Locals []localSnapshot
}

// localSnapshot is a local verdict's state.
type localSnapshot struct {
	Caller   Caller
	State    State
	Since    time.Time
	Evidence Evidence
}

// cusumSnapshot is a member: its design and its statistic.
type cusumSnapshot struct {
	P0, P1, H, Target, S float64
	Since                time.Time
	N, K                 int32
	Classes              []uint16 // by ErrorClass
	Sample               string
}

// latchSnapshot is a latched alarm.
type latchSnapshot struct {
	Member    int
	Level     State
	HoldUntil time.Time
	R, Step   float64
	N, K      int32
	Evidence  Evidence

	// Its verdict (issue 18; absent from older snapshots: the provider's), and for a local
	// one the CUSUM on the other callers. The callers' counts start again.
	Verdict      uint8
	Caller       Caller
	PendingUntil time.Time
	Rest         cusumSnapshot
	WidenedFrom  Caller
}

// Snapshot encodes the baselines and the state of every series (gob, gzip-compressed), so that
// a restarted daemon resumes where it stopped instead of starting cold and forgetting outages.
func (e *Engine) Snapshot() ([]byte, error) {
	snap := snapshot{Version: snapshotVersion, Series: make([]seriesSnapshot, 0, len(e.ordered))}
	for _, s := range e.ordered {
		snap.Series = append(snap.Series, s.snapshot())
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := gob.NewEncoder(zw).Encode(&snap); err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *series) snapshot() seriesSnapshot {
	ss := seriesSnapshot{
		Provider: s.key.Provider, Model: s.key.Model,
		Calls: s.calls, FirstSeen: s.firstSeen, LastCall: s.lastCall,
		Err: s.errBase, Trunc: s.truncBase, Rate: s.rateBase,
		TTFT: s.ttftBase, Latency: s.latBase,
		Peak: s.peak, CallRate: s.callRate,

		State: s.state, Since: s.since, Evidence: s.evidence, Warm: s.warm,
		DesignedAt: s.designedAt, DecayedAt: s.decayedAt, AgedAt: s.agedAt,
		TTFTRecent: s.ttftRecent, LatencyRecent: s.latRecent,
		TTFTLimit: s.ttftLimit, LatencyLimit: s.latLimit,
		FigCalls: s.fig.calls, FigErrors: s.fig.errors,
		FigTruncation: s.fig.truncation, FigRateLimit: s.fig.rateLimit,
		DownCount: s.downCount, DownDecayAt: s.downDecayAt,
	}
	if !s.warm {
		for _, l := range s.lag {
			ss.Lag = append(ss.Lag, l[:]...)
		}
		ss.LagAt = s.lagAt
	}
	ss.Members = make([]cusumSnapshot, numMembers)
	for m, c := range s.members {
		ss.Members[m] = cusumSnapshot{
			P0: c.p0, P1: c.p1, H: c.h, Target: c.target, S: c.s,
			Since: c.since, N: c.n, K: c.k, Classes: slices.Clone(c.classes[:]), Sample: c.sample,
		}
	}
	for _, l := range s.latches {
		ss.Latches = append(ss.Latches, latchSnapshot{
			Member: int(l.member), Level: l.level, HoldUntil: l.holdUntil,
			R: l.r, Step: l.step, N: l.n, K: l.k, Evidence: l.evidence,
			Verdict: uint8(l.verdict), Caller: l.caller, PendingUntil: l.pendingUntil, WidenedFrom: l.widenedFrom,
			Rest: cusumSnapshot{P0: l.rest.p0, P1: l.rest.p1, H: l.rest.h, Target: l.rest.target, S: l.rest.s,
				Since: l.rest.since, N: l.rest.n, K: l.rest.k},
		})
	}
	for _, lv := range s.locals {
		ss.Locals = append(ss.Locals, localSnapshot{Caller: lv.caller, State: lv.state, Since: lv.since, Evidence: lv.evidence})
	}
	return ss
}

// maxSnapshotBytes bounds what Restore decompresses.
const maxSnapshotBytes = 1 << 30

// Restore loads a Snapshot into an engine that has seen no calls, and emits no transitions.
//
// A version 3 or 2 snapshot brings back every series' state (version 2 without the lagged
// counts of series still on their priors, which then start again from their priors): Status answers at once as the saved
// engine did, and the next call or tick continues from there (see snapshot for what is kept).
// A version 1 snapshot brings back baselines only: its series start unknown, and their next
// call or tick judges them with the restored baselines, without a new warm-up.
//
// It brings back at most the engine's Limits of series, the most recently called first: the
// caps start empty in each process, so without this every restart could add a full set of
// series to the ones saved.
func (e *Engine) Restore(data []byte) error {
	if len(e.ordered) > 0 {
		return fmt.Errorf("restore snapshot: the engine already has %d series", len(e.ordered))
	}
	snap, err := decodeSnapshot(data)
	if err != nil {
		return err
	}
	slices.SortStableFunc(snap.Series, func(a, b seriesSnapshot) int { return b.LastCall.Compare(a.LastCall) })
	for _, ss := range snap.Series {
		p := e.admitProvider(ss.Provider)
		if p != nil && ss.Model != "" {
			e.admitModel(p, ss.Model)
		}
	}
	for i := range snap.Series {
		ss := &snap.Series[i]
		s := e.providers[ss.Provider]
		if ss.Model != "" {
			s = e.series[SeriesKey{Provider: ss.Provider, Model: ss.Model}]
		}
		if s == nil {
			continue // beyond the limits
		}
		s.restoreBaselines(ss)
		if snap.Version >= 2 {
			s.restoreState(ss)
		} else {
			s.since, s.agedAt = ss.LastCall, ss.CallRate.At
			s.warm = s.calls >= uint64(e.cfg.WarmupCalls) && ss.LastCall.Sub(ss.FirstSeen) >= e.cfg.WarmupAge
		}
	}
	for _, p := range e.providers {
		for _, m := range p.models {
			p.unhealthy += unhealthy(m.state)
		}
	}
	return nil
}

// decodeSnapshot decompresses, decodes and checks a snapshot.
func decodeSnapshot(data []byte) (*snapshot, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("restore snapshot: %w", err)
	}
	var snap snapshot
	if err := gob.NewDecoder(io.LimitReader(zr, maxSnapshotBytes)).Decode(&snap); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	if snap.Version < 1 || snap.Version > snapshotVersion {
		return nil, fmt.Errorf("restore snapshot: version %d, want 1 to %d", snap.Version, snapshotVersion)
	}
	if snap.Version >= 2 {
		for i := range snap.Series {
			if err := snap.Series[i].check(); err != nil {
				return nil, fmt.Errorf("restore snapshot: series %s/%s: %w", snap.Series[i].Provider, snap.Series[i].Model, err)
			}
		}
	}
	return &snap, nil
}

// check refuses what the state machine could not hold: a state, member or latch level out of
// range, more latches than members.
func (ss *seriesSnapshot) check() error {
	if ss.State >= numStates {
		return fmt.Errorf("state %d", ss.State)
	}
	if len(ss.Lag) != 0 && len(ss.Lag) != 2*numRates {
		return fmt.Errorf("%d lagged counts", len(ss.Lag))
	}
	if len(ss.Latches) > int(numMembers) || len(ss.Members) > int(numMembers) {
		return fmt.Errorf("%d latches, %d members", len(ss.Latches), len(ss.Members))
	}
	for _, l := range ss.Latches {
		if l.Member < 0 || l.Member >= int(numMembers) || l.Level != StateDegraded && l.Level != StateDown {
			return fmt.Errorf("latch of member %d at %s", l.Member, l.Level)
		}
		if l.Verdict > uint8(verdictPending) || (verdict(l.Verdict) == verdictLocal) == l.Caller.IsZero() {
			return fmt.Errorf("latch verdict %d for caller %q", l.Verdict, l.Caller)
		}
	}
	if len(ss.Locals) > int(numMembers) {
		return fmt.Errorf("%d local verdicts", len(ss.Locals))
	}
	for _, lv := range ss.Locals {
		if lv.Caller.IsZero() || lv.State != StateDegraded && lv.State != StateDown {
			return fmt.Errorf("local verdict of %q at %s", lv.Caller, lv.State)
		}
	}
	return nil
}

func (s *series) restoreBaselines(ss *seriesSnapshot) {
	s.calls, s.firstSeen, s.lastCall = ss.Calls, ss.FirstSeen, ss.LastCall
	s.errBase, s.truncBase, s.rateBase = ss.Err, ss.Trunc, ss.Rate
	s.ttftBase, s.latBase = ss.TTFT, ss.Latency
	s.peak, s.callRate = ss.Peak, ss.CallRate
}

func (s *series) restoreState(ss *seriesSnapshot) {
	s.state, s.since, s.evidence, s.warm = ss.State, ss.Since, ss.Evidence, ss.Warm
	s.designedAt, s.decayedAt, s.agedAt = ss.DesignedAt, ss.DecayedAt, ss.AgedAt
	s.ttftRecent, s.latRecent = ss.TTFTRecent, ss.LatencyRecent
	s.ttftLimit, s.latLimit = ss.TTFTLimit, ss.LatencyLimit
	s.fig = figures{calls: ss.FigCalls, errors: ss.FigErrors, truncation: ss.FigTruncation, rateLimit: ss.FigRateLimit}
	if s.fig.calls.K == 0 {
		s.fig.calls.K = s.fig.calls.N // saved before adjusted counts: every call stood for itself
	}
	s.downCount, s.downDecayAt = ss.DownCount, ss.DownDecayAt
	if len(ss.Lag) == len(s.lag)*numRates {
		for i := range s.lag {
			copy(s.lag[i][:], ss.Lag[i*numRates:])
		}
		s.lagAt = ss.LagAt
	}
	for m, cs := range ss.Members {
		if cs.H <= 0 {
			continue // not designed yet
		}
		c := &s.members[m]
		c.setParams(cs.P0, cs.P1, cs.H)
		c.target, c.s = cs.Target, cs.S
		c.since, c.n, c.k, c.sample = cs.Since, cs.N, cs.K, cs.Sample
		copy(c.classes[:], cs.Classes)
	}
	s.latches = s.latches[:0]
	for _, l := range ss.Latches {
		s.latches = append(s.latches, latch{
			member: member(l.Member), level: l.Level, holdUntil: l.HoldUntil,
			r: l.R, step: l.Step, n: l.N, k: l.K, evidence: l.Evidence,
			verdict: verdict(l.Verdict), pendingUntil: l.PendingUntil, widenedFrom: l.WidenedFrom,
		})
		if nl := &s.latches[len(s.latches)-1]; nl.verdict == verdictLocal {
			nl.decide(verdictLocal, l.Caller, &s.members[nl.member])
			nl.rest.s, nl.rest.since, nl.rest.n, nl.rest.k = l.Rest.S, l.Rest.Since, l.Rest.N, l.Rest.K
		}
	}
	s.locals = s.locals[:0]
	for _, lv := range ss.Locals {
		s.locals = append(s.locals, localVerdict{caller: lv.Caller, state: lv.State, since: lv.Since, evidence: lv.Evidence})
	}
}
