package incidents

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outagewatch/outagewatch/detectors"
)

// Config configures the incident lifecycle.
type Config struct {
	// GroupWait is how long a provider's first failing transition waits for the provider's other
	// models before the incident opens, so that models failing together share one incident.
	GroupWait time.Duration `yaml:"group_wait"`
	// QueueSize bounds the changes waiting for the store while it is unreachable.
	QueueSize int `yaml:"queue_size"`
	// RetryMin and RetryMax bound the backoff between attempts to write to the store.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// ResumeConfirm is how long a series of an incident resumed after a restart must stay healthy
	// before it counts as recovered: a restarted engine calls a series healthy on its first
	// call, before it has evidence either way.
	ResumeConfirm time.Duration `yaml:"resume_confirm"`
}

// DefaultConfig returns a 10 s group wait, a queue of 10,000 changes, retries from 500 ms to
// 30 s, and 2 minutes to confirm the recovery of a resumed incident's series.
func DefaultConfig() Config {
	return Config{GroupWait: 10 * time.Second, QueueSize: 10_000, RetryMin: 500 * time.Millisecond, RetryMax: 30 * time.Second, ResumeConfirm: 2 * time.Minute}
}

// Validate names the first invalid field under "incidents".
func (c Config) Validate() error {
	var errs []error
	if c.GroupWait < 0 || c.GroupWait > 10*time.Minute {
		errs = append(errs, errors.New("incidents.group_wait: must be between 0 and 10m"))
	}
	if c.QueueSize < 1 {
		errs = append(errs, errors.New("incidents.queue_size: must be at least 1"))
	}
	if c.ResumeConfirm < 0 {
		errs = append(errs, errors.New("incidents.resume_confirm: must be >= 0"))
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		errs = append(errs, errors.New("incidents.retry_min: must be > 0 and at most retry_max"))
	}
	return errors.Join(errs...)
}

// ErrQueueFull is logged and counted when a change cannot be queued for the store.
var ErrQueueFull = errors.New("incident change queue is full")

// Manager runs the lifecycle. Transitions arrive through Handle (never blocking); Run opens
// incidents after their group wait and writes every change to the store in order, retrying
// with backoff while the store is unreachable.
type Manager struct {
	cfg    Config
	store  Store
	logger *slog.Logger
	now    func() time.Time
	m      *metrics

	// mu guards the lifecycle state below; Handle, the ticker and the API take it.
	mu      sync.Mutex
	active  map[key]*tracked // the incidents under way
	pending map[key]*group   // failing transitions in their group wait

	// qmu guards the write queue; wake tells the writer there is work. Every change goes
	// through it in order: the engine's transitions and the API's acknowledgements and
	// resolutions alike, so that neither overtakes the other.
	qmu      sync.Mutex
	queue    []queued
	wake     chan struct{}
	lastErr  error
	failedAt time.Time
}

// key names an incident the manager tracks: a provider's, or the local incident of one of its
// callers (issue 18), which lives beside the provider's and resolves on its own.
type key struct {
	provider string
	caller   string // detectors.Caller's text form; "" for the provider's incident
}

// keyOf returns the incident a transition belongs to: a local verdict's (Series.Caller set) goes
// to its caller's incident, every other to its provider's.
func keyOf(s detectors.SeriesKey) key { return key{provider: s.Provider, caller: s.Caller.String()} }

// sortedKeys returns m's keys by provider, then caller: changes are queued in a stable order.
func sortedKeys[V any](m map[key]V) []key {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.provider, b.provider), cmp.Compare(a.caller, b.caller))
	})
	return keys
}

// tracked is what the manager knows of an active incident.
type tracked struct {
	id int64 // 0 until the store has written it
	// series are the states of the incident's series by model ("" is the provider's own); a
	// local incident's are its caller's view of those models.
	series   map[string]detectors.State
	severity Severity
	opened   time.Time
	// resumed marks the series loaded from the store after a restart, until their first
	// transition; confirm holds, for resumed series the restarted engine called healthy, when
	// that counts as a recovery.
	resumed map[string]bool
	confirm map[string]time.Time
}

// group is a provider's failing transitions waiting for the group wait to end.
type group struct {
	deadline    time.Time
	transitions []detectors.Transition
}

// NewManager returns a manager writing to store. It starts nothing: call Resume, then Run.
func NewManager(cfg Config, store Store, reg prometheus.Registerer, logger *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mgr := &Manager{
		cfg: cfg, store: store, logger: logger.With("component", "incidents"), now: time.Now,
		active: map[key]*tracked{}, pending: map[key]*group{}, wake: make(chan struct{}, 1),
	}
	mgr.m = newMetrics(reg, mgr)
	return mgr, nil
}

// Resume loads the active incidents from the store, so that a restarted daemon continues them
// instead of opening duplicates, local incidents with their caller. Their series count as
// failing until they are seen otherwise.
func (mgr *Manager) Resume(ctx context.Context) error {
	incs, err := mgr.store.Active(ctx)
	if err != nil {
		return fmt.Errorf("load active incidents: %w", err)
	}
	mgr.mu.Lock()
	defer mgr.mu.Unlock()
	for _, inc := range incs {
		k := key{provider: inc.Provider, caller: inc.Caller}
		if _, ok := mgr.active[k]; ok {
			continue // already tracked: opened (or attached to) since the start
		}
		t := &tracked{id: inc.ID, series: map[string]detectors.State{}, severity: inc.Severity, opened: inc.OpenedAt,
			resumed: map[string]bool{}, confirm: map[string]time.Time{}}
		models := inc.Models
		if len(models) == 0 {
			// Only the provider's own series (model "", never stored as a model) failed.
			models = []string{""}
		}
		for _, m := range models {
			t.resumed[m] = true
			t.series[m] = detectors.StateDown
			if inc.Severity == SeverityWarning {
				t.series[m] = detectors.StateDegraded
			}
		}
		mgr.active[k] = t
	}
	if len(incs) > 0 {
		mgr.logger.Info("resumed active incidents", "count", len(incs))
	}
	return nil
}

func failing(s detectors.State) bool { return s == detectors.StateDown || s == detectors.StateDegraded }

// Handle takes the engine's transitions. It never blocks on the store.
func (mgr *Manager) Handle(trs []detectors.Transition) {
	if len(trs) == 0 {
		return
	}
	mgr.mu.Lock()
	defer mgr.mu.Unlock()
	for _, tr := range trs {
		k := keyOf(tr.Series)
		if t, ok := mgr.active[k]; ok {
			mgr.onActive(k, t, tr)
			continue
		}
		if g, ok := mgr.pending[k]; ok {
			g.transitions = append(g.transitions, tr)
			continue
		}
		if failing(tr.To) {
			mgr.pending[k] = &group{deadline: tr.At.Add(mgr.cfg.GroupWait), transitions: []detectors.Transition{tr}}
		}
	}
}

// onActive records a transition of an incident under way: its event, a change of severity, and
// the resolution when none of the incident's series fails any more. A local incident also ends
// when its failures widen to the provider's other callers (detectors.DetectorWidened): the
// provider's incident takes them over, and the resolution's evidence says so.
func (mgr *Manager) onActive(k key, t *tracked, tr detectors.Transition) {
	m := tr.Series.Model
	t.series[m] = tr.To
	if t.resumed[m] {
		delete(t.resumed, m)
		delete(t.confirm, m)
		if tr.From == detectors.StateUnknown && tr.To == detectors.StateHealthy {
			// The restarted engine's first judgement, not evidence of a recovery: it counts
			// once it has held for ResumeConfirm (tick).
			t.series[m] = detectors.StateDegraded
			t.confirm[m] = tr.At.Add(mgr.cfg.ResumeConfirm)
		}
	}
	sev, anyFailing := severityOf(t.series)
	c := mgr.change(t, k, tr.At)
	c.Models = modelsOf(tr.Series.Model)
	if d := tr.Evidence.Detector; d != "" && failing(tr.To) {
		c.Detectors = []string{string(d)}
	}
	c.Peak = peakOf(tr.Evidence)
	c.Events = append(c.Events, EventSpec{Event: transitionEvent(tr, EventTransition, sev), Notify: []string{NotifyEvent, NotifyUpdate}})
	if anyFailing && sev != t.severity {
		kind := EventEscalated
		if sev == SeverityWarning {
			kind = EventDeescalated
		}
		c.Severity = sev
		c.Events = append(c.Events, EventSpec{Event: Event{At: tr.At, Kind: kind, Provider: k.provider, Severity: sev, Actor: Actor}, Notify: []string{NotifyEvent, NotifyUpdate}})
		t.severity = sev
	}
	if !anyFailing {
		c.State = StateResolved
		c.Actor = Actor
		c.Events = append(c.Events, resolvedEvent(k, tr, t.severity))
		delete(mgr.active, k)
	}
	mgr.enqueue(c)
}

// change starts a change of incident t. IncidentID stays 0 until the store has written the
// incident: 0 means "the active incident of this provider and caller", which is the same one in
// queue order.
func (mgr *Manager) change(t *tracked, k key, at time.Time) Change {
	return Change{IncidentID: t.id, Provider: k.provider, Caller: k.caller, At: at}
}

// resolvedEvent is the event that resolves incident k after its last transition tr. When tr is
// a widened end (the failures spread from the local incident's caller to the others), it keeps
// tr's evidence, so that the timeline and the alert say where the failures went.
func resolvedEvent(k key, tr detectors.Transition, sev Severity) EventSpec {
	ev := Event{At: tr.At, Kind: EventResolved, Provider: k.provider, Severity: sev, Actor: Actor}
	if tr.Evidence.Detector == detectors.DetectorWidened {
		ev.Model, ev.Evidence = tr.Series.Model, EvidenceOf(tr.Evidence)
	}
	return EventSpec{Event: ev, Notify: []string{NotifyResolve}}
}

// tick opens the incidents whose group wait is over, and resolves resumed incidents whose
// series have stayed healthy for ResumeConfirm.
func (mgr *Manager) tick(now time.Time) {
	mgr.mu.Lock()
	defer mgr.mu.Unlock()
	mgr.confirmResumed(now)
	for _, k := range sortedKeys(mgr.pending) {
		if g := mgr.pending[k]; !now.Before(g.deadline) {
			mgr.open(k, g)
			delete(mgr.pending, k)
		}
	}
}

// confirmResumed counts the confirmed recoveries of resumed series.
func (mgr *Manager) confirmResumed(now time.Time) {
	for _, k := range sortedKeys(mgr.active) {
		t := mgr.active[k]
		confirmed := false
		for m, at := range t.confirm {
			if !now.Before(at) {
				t.series[m] = detectors.StateHealthy
				delete(t.confirm, m)
				confirmed = true
			}
		}
		if _, anyFailing := severityOf(t.series); confirmed && !anyFailing {
			c := mgr.change(t, k, now)
			c.State, c.Actor = StateResolved, Actor
			c.Events = []EventSpec{{Event: Event{At: now, Kind: EventResolved, Provider: k.provider, Severity: t.severity, Actor: Actor}, Notify: []string{NotifyResolve}}}
			delete(mgr.active, k)
			mgr.enqueue(c)
		}
	}
}

// open opens incident k with the transitions of its group wait: the first is the
// "opened" event (the thread root), the others are on the timeline. If everything recovered
// within the group wait, the incident opens and resolves at once: every failing transition is
// part of an incident.
func (mgr *Manager) open(k key, g *group) {
	t := &tracked{series: map[string]detectors.State{}, opened: g.transitions[0].At}
	// State stays "": IncidentID 0 opens the incident or attaches to the one another writer
	// opened first, whose state (acknowledged, say) must not be reset.
	c := Change{Provider: k.provider, Caller: k.caller, At: g.transitions[0].At}
	for _, tr := range g.transitions {
		t.series[tr.Series.Model] = tr.To
		c.Models = append(c.Models, modelsOf(tr.Series.Model)...)
		if failing(tr.To) && tr.Evidence.Detector != "" {
			c.Detectors = append(c.Detectors, string(tr.Evidence.Detector))
		}
		c.Peak = c.Peak.Merge(peakOf(tr.Evidence))
	}
	sev, anyFailing := severityOf(t.series)
	if !anyFailing {
		sev = SeverityWarning
		for _, tr := range g.transitions {
			if tr.To == detectors.StateDown {
				sev = SeverityCritical
			}
		}
	}
	t.severity, c.Severity = sev, sev
	for i, tr := range g.transitions {
		ev := EventSpec{Event: transitionEvent(tr, EventTransition, sev)}
		if i == 0 {
			ev.Kind = EventOpened
			ev.Notify = []string{NotifyOpen}
		}
		c.Events = append(c.Events, ev)
	}
	last := g.transitions[len(g.transitions)-1]
	if !anyFailing {
		c.Events = append(c.Events, resolvedEvent(k, last, sev))
		mgr.enqueue(c)
		resolve := Change{Provider: k.provider, Caller: k.caller, At: last.At, State: StateResolved, Actor: Actor}
		mgr.enqueue(resolve)
		return
	}
	mgr.active[k] = t
	mgr.logger.Info("incident opening", "provider", k.provider, "caller", k.caller, "models", c.Models, "severity", string(sev))
	mgr.enqueue(c)
}

// modelsOf returns the models a series adds to its incident: none for the provider's own
// pooled series, whose model is "" (its events still name it on the timeline).
func modelsOf(model string) []string {
	if model == "" {
		return nil
	}
	return []string{model}
}

func severityOf(series map[string]detectors.State) (Severity, bool) {
	sev, any := SeverityWarning, false
	for _, s := range series {
		if failing(s) {
			any = true
		}
		if s == detectors.StateDown {
			sev = SeverityCritical
		}
	}
	return sev, any
}

func transitionEvent(tr detectors.Transition, kind EventKind, sev Severity) Event {
	return Event{
		At: tr.At, Kind: kind, Provider: tr.Series.Provider, Model: tr.Series.Model,
		From: tr.From.String(), To: tr.To.String(), Severity: sev, Evidence: EvidenceOf(tr.Evidence), Actor: Actor,
	}
}

// EvidenceOf converts the engine's evidence to its stored form.
func EvidenceOf(ev detectors.Evidence) Evidence {
	out := Evidence{
		Detector: string(ev.Detector), Observed: ev.Observed, Baseline: ev.Baseline, Threshold: ev.Threshold,
		ChangePoint: ev.ChangePoint, Window: ev.Window.Seconds(), SampleSize: ev.SampleSize, Events: ev.Events,
		CallRate: ev.CallRate, SampleError: ev.SampleError,
	}
	if len(ev.Classes) > 0 {
		out.Classes = ClassCounts{}
		for _, c := range ev.Classes {
			out.Classes[c.Class.String()] = c.Count
		}
	}
	for _, c := range ev.Callers {
		out.Callers = append(out.Callers, CallerShare{Service: c.Caller, Calls: c.N, Failures: c.K})
	}
	for _, c := range ev.Endpoints {
		out.Endpoints = append(out.Endpoints, EndpointShare{Endpoint: c.Caller, Calls: c.N, Failures: c.K})
	}
	out.ConfinedTo = ev.ConfinedTo.String()
	return out
}

func peakOf(ev detectors.Evidence) Peak {
	p := Peak{CallRate: ev.CallRate}
	switch ev.Detector {
	case detectors.DetectorErrorRate, detectors.DetectorErrorDown:
		p.ErrorRate = ev.Observed
	case detectors.DetectorTruncation:
		p.TruncationRate = ev.Observed
	case detectors.DetectorRateLimit:
		p.RateLimitRate = ev.Observed
	}
	return p
}

func nextBackoff(cur, lo, hi time.Duration) time.Duration {
	next := max(lo, cur*2)
	next = min(next, hi)
	// Full jitter on the upper half: replicas retrying together spread out.
	return next/2 + time.Duration(rand.Int64N(int64(next/2)+1))
}
