package leadtime_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/sqlite"
	"github.com/outagewatch/outagewatch/vendorstatus"
	"github.com/outagewatch/outagewatch/vendorstatus/leadtime"
)

// t0 is the tests' epoch: our detection of the outage unless a test says otherwise.
var t0 = time.Date(2026, 6, 1, 14, 1, 0, 0, time.UTC)

// env is a Linker on a real SQLite store, with a clock the test moves.
type env struct {
	store *sqlite.Store
	reg   *prometheus.Registry
	l     *leadtime.Linker

	mu     sync.Mutex
	now    time.Time
	writes int // the Linker's calls of Apply
}

func newEnv(tb testing.TB, window time.Duration) *env {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "outagewatch.db"), nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	e := &env{store: s, now: t0.Add(time.Hour)}
	e.restart(tb, window)
	return e
}

// restart replaces the Linker with a new one on the same store, as a restarted daemon has.
func (e *env) restart(tb testing.TB, window time.Duration) {
	tb.Helper()
	e.reg = prometheus.NewPedanticRegistry()
	l, err := leadtime.New(leadtime.Options{
		Incidents: e.store, Writer: leadtime.WriterFunc(e.apply), Registerer: e.reg, Now: e.clock, Window: window,
	})
	require.NoError(tb, err)
	e.l = l
}

// apply is the Linker's Writer: the store, counted.
func (e *env) apply(ctx context.Context, c incidents.Change) (incidents.Incident, error) {
	e.mu.Lock()
	e.writes++
	e.mu.Unlock()
	return e.store.Apply(ctx, c)
}

func (e *env) written() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.writes
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) set(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = now
}

// open opens our incident of provider for caller ("" for a provider incident) and group,
// detected at at with models failing.
func (e *env) open(tb testing.TB, provider, group, caller string, at time.Time, models ...string) incidents.Incident {
	tb.Helper()
	inc, err := e.store.Apply(tb.Context(), incidents.Change{
		Provider: provider, GroupKey: group, Caller: caller, At: at, Models: models,
		Severity: incidents.SeverityCritical, State: incidents.StateOpen,
		Events: []incidents.EventSpec{{
			Event: incidents.Event{
				At: at, Kind: incidents.EventOpened, Provider: provider, Model: models[0], From: "healthy", To: "down",
				Severity: incidents.SeverityCritical, Actor: incidents.Actor,
			},
			Notify: []string{incidents.NotifyOpen},
		}},
	})
	require.NoError(tb, err)
	return inc
}

func (e *env) resolve(tb testing.TB, id int64, at time.Time) {
	tb.Helper()
	_, err := e.store.Apply(tb.Context(), incidents.Change{IncidentID: id, At: at, State: incidents.StateResolved})
	require.NoError(tb, err)
}

func (e *env) update(tb testing.TB, posts ...vendorstatus.Incident) {
	tb.Helper()
	require.NoError(tb, e.l.Update(tb.Context(), vendorstatus.Status{
		Provider: "anthropic", Page: "https://status.anthropic.com", Indicator: vendorstatus.IndicatorMinor,
		Incidents: posts, CheckedAt: e.clock(), FetchedAt: e.clock(),
	}))
}

func (e *env) get(tb testing.TB, id int64) (incidents.Incident, []incidents.Event) {
	tb.Helper()
	inc, events, err := e.store.Get(tb.Context(), id)
	require.NoError(tb, err)
	return inc, events
}

// kinds returns the kinds of the vendor events of incident id's timeline.
func (e *env) kinds(tb testing.TB, id int64) []incidents.EventKind {
	tb.Helper()
	_, events := e.get(tb, id)
	out := []incidents.EventKind{}
	for _, ev := range events {
		if ev.Kind == incidents.EventVendorPosted || ev.Kind == incidents.EventVendorResolved {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// histogram returns the lead histogram's count and sum.
func (e *env) histogram(tb testing.TB) (count uint64, sum float64) {
	tb.Helper()
	families, err := e.reg.Gather()
	require.NoError(tb, err)
	for _, f := range families {
		if f.GetName() == "outagewatch_provider_status_lead_seconds" {
			require.Len(tb, f.GetMetric(), 1, "one series, no labels")
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	tb.Fatal("outagewatch_provider_status_lead_seconds is not registered")
	return 0, 0
}

// drain claims and completes every outbox row due at now, in the order they are handed out.
func (e *env) drain(tb testing.TB, now time.Time) []incidents.OutboxRow {
	tb.Helper()
	var out []incidents.OutboxRow
	for range 100 {
		rows, err := e.store.Claim(tb.Context(), now, 100, time.Minute)
		require.NoError(tb, err)
		if len(rows) == 0 {
			return out
		}
		for _, r := range rows {
			require.NoError(tb, e.store.Complete(tb.Context(), r.ID, now))
		}
		out = append(out, rows...)
	}
	tb.Fatal("the outbox never empties")
	return nil
}

// post is the provider's post at at, open.
func post(id string, at time.Time, models ...string) vendorstatus.Incident {
	return vendorstatus.Incident{
		ID: id, Name: "Elevated errors on Claude Sonnet", Status: "investigating", Impact: "minor",
		URL: "https://status.anthropic.com/incidents/" + id, CreatedAt: at, UpdatedAt: at, Models: models,
	}
}

func resolved(p vendorstatus.Incident, at time.Time) vendorstatus.Incident {
	p.Status, p.ResolvedAt, p.UpdatedAt = "resolved", at, at
	return p
}

func TestPostAfterDetection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	count, _ := e.histogram(t)
	require.Zero(t, count, "the histogram exists before any link")
	inc := e.open(t, "anthropic", "", "", t0, "claude-sonnet-4-5")
	p := post("tqx3p6lqqd5k", t0.Add(6*time.Minute), "claude-sonnet-4-5")

	e.set(t0.Add(7 * time.Minute))
	e.update(t, p)
	e.set(t0.Add(8 * time.Minute))
	e.update(t, p)
	require.Equal(t, 1, e.written(), "the second poll writes nothing")

	got, events := e.get(t, inc.ID)
	require.Equal(t, incidents.VendorPost{
		ID: p.ID, Name: p.Name, URL: p.URL, PostedAt: p.CreatedAt,
	}, got.Vendor)
	require.Equal(t, incidents.StateOpen, got.State)
	lead, ok := leadtime.Lead(got, events)
	require.True(t, ok)
	require.Equal(t, 6*time.Minute, lead)
	require.Equal(t, []incidents.EventKind{incidents.EventVendorPosted}, e.kinds(t, inc.ID), "recorded once across two polls")
	ev := events[len(events)-1]
	require.Equal(t, p.CreatedAt, ev.At)
	require.Equal(t, "anthropic", ev.Provider)
	require.Equal(t, incidents.Actor, ev.Actor)
	require.Equal(t, incidents.SeverityCritical, ev.Severity)

	var notified []string
	for _, r := range e.drain(t, t0.Add(time.Hour)) {
		if r.EventID == ev.ID {
			notified = append(notified, r.Kind)
		}
	}
	require.Equal(t, []string{incidents.NotifyEvent, incidents.NotifyUpdate}, notified)

	count, sum := e.histogram(t)
	require.Equal(t, uint64(1), count, "observed once")
	require.InDelta(t, 360, sum, 1e-9)

	// A restarted daemon reads the link and records nothing again.
	e.restart(t, 0)
	e.update(t, p)
	require.Equal(t, []incidents.EventKind{incidents.EventVendorPosted}, e.kinds(t, inc.ID))
	count, _ = e.histogram(t)
	require.Zero(t, count)
}

func TestPostBeforeDetection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	p := post("early", t0.Add(-3*time.Minute))
	e.set(t0.Add(-2 * time.Minute))
	e.update(t, p) // no incident of ours yet: nothing to link
	inc := e.open(t, "anthropic", "", "", t0, "claude-sonnet-4-5")
	e.set(t0.Add(time.Minute))
	e.update(t, p)

	got, events := e.get(t, inc.ID)
	require.Equal(t, "early", got.Vendor.ID)
	lead, ok := leadtime.Lead(got, events)
	require.True(t, ok)
	require.Equal(t, -3*time.Minute, lead)
	count, sum := e.histogram(t)
	require.Equal(t, uint64(1), count)
	require.InDelta(t, -180, sum, 1e-9)
}

func TestPostAfterOurResolution(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	inc := e.open(t, "anthropic", "", "", t0, "claude-sonnet-4-5")
	e.resolve(t, inc.ID, t0.Add(10*time.Minute))
	p := post("late", t0.Add(25*time.Minute))
	e.set(t0.Add(26 * time.Minute))
	e.update(t, p)

	got, _ := e.get(t, inc.ID)
	require.Equal(t, "late", got.Vendor.ID)
	require.Equal(t, incidents.StateResolved, got.State, "the post does not reopen it")
	require.Equal(t, t0.Add(10*time.Minute), got.ResolvedAt)
	require.Equal(t, []incidents.EventKind{incidents.EventVendorPosted}, e.kinds(t, inc.ID))
}

// TestActiveWhenPosted: beyond the window, a post still links to the incident under way when it
// was posted, or resolved less than the window before; not to one resolved long before.
func TestActiveWhenPosted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10*time.Minute)
	long := e.open(t, "anthropic", "", "", t0, "claude-sonnet-4-5")
	e.set(t0.Add(time.Hour))
	e.update(t, post("during", t0.Add(50*time.Minute)))
	got, _ := e.get(t, long.ID)
	require.Equal(t, "during", got.Vendor.ID)

	e.resolve(t, long.ID, t0.Add(70*time.Minute))
	other := e.open(t, "anthropic", "", "", t0.Add(2*time.Hour), "claude-opus-4-1")
	e.resolve(t, other.ID, t0.Add(2*time.Hour+time.Minute))
	e.set(t0.Add(3 * time.Hour))
	e.update(t, post("much-later", t0.Add(2*time.Hour+30*time.Minute)))
	got, _ = e.get(t, other.ID)
	require.False(t, got.Vendor.Linked(), "posted 29 min after our resolution, beyond the window")
	e.update(t, post("just-after", t0.Add(2*time.Hour+9*time.Minute)))
	got, _ = e.get(t, other.ID)
	require.Equal(t, "just-after", got.Vendor.ID)
}

func TestTwoOfOurs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	opus := e.open(t, "anthropic", "opus", "", t0, "claude-opus-4-1")
	sonnet := e.open(t, "anthropic", "sonnet", "", t0.Add(2*time.Minute), "claude-sonnet-4-5")
	local := e.open(t, "anthropic", "", "service:batch-jobs", t0.Add(3*time.Minute), "claude-sonnet-4-5")
	other := e.open(t, "openai", "", "", t0.Add(3*time.Minute), "gpt-5")
	e.set(t0.Add(20 * time.Minute))

	// The post names Sonnet: it goes to Sonnet's incident, although Opus's was detected closer.
	e.update(t, post("sonnet-post", t0.Add(10*time.Minute), "claude-sonnet-4-5"))
	got, _ := e.get(t, sonnet.ID)
	require.Equal(t, "sonnet-post", got.Vendor.ID)
	for _, id := range []int64{opus.ID, local.ID, other.ID} {
		got, _ := e.get(t, id)
		require.False(t, got.Vendor.Linked(), "incident %d", id)
	}

	// A second post naming no model goes to the one left, and Sonnet's keeps its link.
	e.update(t, post("sonnet-post", t0.Add(10*time.Minute), "claude-sonnet-4-5"), post("second", t0.Add(12*time.Minute)))
	got, _ = e.get(t, opus.ID)
	require.Equal(t, "second", got.Vendor.ID)
	got, _ = e.get(t, sonnet.ID)
	require.Equal(t, "sonnet-post", got.Vendor.ID)
	require.Equal(t, []incidents.EventKind{incidents.EventVendorPosted}, e.kinds(t, sonnet.ID))

	// A third post finds every incident linked: it is left unlinked.
	e.update(t, post("third", t0.Add(13*time.Minute)))
	for _, id := range []int64{opus.ID, sonnet.ID} {
		require.Len(t, e.kinds(t, id), 1)
	}
	count, _ := e.histogram(t)
	require.Equal(t, uint64(2), count)
}

func TestUnrelatedPostsIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	inc := e.open(t, "anthropic", "", "", t0, "claude-sonnet-4-5")
	e.set(t0.Add(10 * time.Minute))
	e.update(t,
		resolved(post("yesterday-morning", t0.Add(-10*time.Hour)), t0.Add(-9*time.Hour)),
		resolved(post("two-days-ago", t0.Add(-40*time.Hour)), t0.Add(-30*time.Hour)),
		vendorstatus.Incident{Name: "no id", CreatedAt: t0},
		vendorstatus.Incident{ID: "never-posted"},
	)
	got, _ := e.get(t, inc.ID)
	require.False(t, got.Vendor.Linked())

	// A post that would fit our incident, still under way, but resolved more than a day ago is
	// no longer on the page's list of recent incidents: it is ignored too.
	e.set(t0.Add(30 * time.Hour))
	e.update(t, resolved(post("stale", t0.Add(time.Minute)), t0.Add(5*time.Minute)))
	got, _ = e.get(t, inc.ID)
	require.False(t, got.Vendor.Linked())
	require.Empty(t, e.kinds(t, inc.ID))
	require.Zero(t, e.written())
	count, _ := e.histogram(t)
	require.Zero(t, count)
}

func TestVendorResolution(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	inc := e.open(t, "anthropic", "", "", t0, "claude-sonnet-4-5")
	p := post("tqx3p6lqqd5k", t0.Add(6*time.Minute))
	e.set(t0.Add(7 * time.Minute))
	e.update(t, p)
	e.resolve(t, inc.ID, t0.Add(30*time.Minute))

	e.set(t0.Add(time.Hour))
	e.update(t, resolved(p, t0.Add(55*time.Minute)))
	e.set(t0.Add(time.Hour + time.Minute))
	e.update(t, resolved(p, t0.Add(55*time.Minute)))
	e.restart(t, 0)
	e.update(t, resolved(p, t0.Add(55*time.Minute)))
	require.Equal(t, 2, e.written(), "the link and the resolution, each once")

	got, events := e.get(t, inc.ID)
	require.Equal(t, t0.Add(55*time.Minute), got.Vendor.ResolvedAt)
	require.Equal(t, p.CreatedAt, got.Vendor.PostedAt)
	require.Equal(t, incidents.StateResolved, got.State)
	require.Equal(t, t0.Add(30*time.Minute), got.ResolvedAt, "the provider's resolution is not ours")
	require.Equal(t, []incidents.EventKind{incidents.EventVendorPosted, incidents.EventVendorResolved}, e.kinds(t, inc.ID))
	require.Equal(t, t0.Add(55*time.Minute), events[len(events)-1].At)
}

// TestResolvedBeforeLinked: a post first read resolved is linked and its resolution recorded.
func TestResolvedBeforeLinked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	inc := e.open(t, "anthropic", "", "", t0, "claude-sonnet-4-5")
	e.set(t0.Add(2 * time.Hour))
	e.update(t, resolved(post("short", t0.Add(4*time.Minute)), t0.Add(20*time.Minute)))
	got, _ := e.get(t, inc.ID)
	require.Equal(t, "short", got.Vendor.ID)
	require.Equal(t, t0.Add(20*time.Minute), got.Vendor.ResolvedAt)
	require.Equal(t, []incidents.EventKind{incidents.EventVendorPosted, incidents.EventVendorResolved}, e.kinds(t, inc.ID))
}

func TestLead(t *testing.T) {
	t.Parallel()
	inc := incidents.Incident{OpenedAt: t0.Add(time.Minute)}
	_, ok := leadtime.Lead(inc, nil)
	require.False(t, ok, "no post linked")
	inc.Vendor = incidents.VendorPost{ID: "x", PostedAt: t0.Add(6 * time.Minute)}
	timeline := []incidents.Event{
		{Kind: incidents.EventTransition, At: t0.Add(-time.Minute)},
		{Kind: incidents.EventOpened, At: t0},
	}
	lead, ok := leadtime.Lead(inc, timeline)
	require.True(t, ok)
	require.Equal(t, 6*time.Minute, lead, "from the opening event")
	lead, ok = leadtime.Lead(inc, nil)
	require.True(t, ok)
	require.Equal(t, 5*time.Minute, lead, "from the opening without a timeline")
}

func TestNew(t *testing.T) {
	t.Parallel()
	_, err := leadtime.New(leadtime.Options{Window: -time.Second})
	require.ErrorContains(t, err, "incidents: must be set")
	require.ErrorContains(t, err, "writer: must be set")
	require.ErrorContains(t, err, "window: must not be negative")
}

// TestErrors: a failed write is returned and nothing is observed; the next poll links.
func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	inc := e.open(t, "anthropic", "", "", t0, "claude-sonnet-4-5")
	fail := true
	reg := prometheus.NewPedanticRegistry()
	l, err := leadtime.New(leadtime.Options{
		Incidents: e.store, Registerer: reg, Now: e.clock,
		Writer: leadtime.WriterFunc(func(ctx context.Context, c incidents.Change) (incidents.Incident, error) {
			if fail {
				return incidents.Incident{}, context.DeadlineExceeded
			}
			return e.store.Apply(ctx, c)
		}),
	})
	require.NoError(t, err)
	st := vendorstatus.Status{Provider: "anthropic", Incidents: []vendorstatus.Incident{post("p", t0.Add(time.Minute))}}
	require.ErrorIs(t, l.Update(t.Context(), st), context.DeadlineExceeded)
	require.Empty(t, e.kinds(t, inc.ID))
	fail = false
	require.NoError(t, l.Update(t.Context(), st))
	require.Equal(t, []incidents.EventKind{incidents.EventVendorPosted}, e.kinds(t, inc.ID))
}
