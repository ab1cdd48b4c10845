package statuspage

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
)

// The page in a real browser: a headless Chromium, driven over the DevTools protocol, loads the
// page served with the real health API (so the stream is the real one), while the detection
// engine is fed injected calls in virtual time. A provider goes down and recovers; the page
// follows without a reload.

var (
	sonnet = detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet-4-5"}
	haiku  = detectors.SeriesKey{Provider: "anthropic", Model: "claude-haiku-4-5"}
	gpt    = detectors.SeriesKey{Provider: "openai", Model: "gpt-4o"}
	evil   = detectors.SeriesKey{Provider: "openai", Model: hostile}
)

const overloaded = "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}"

// sim feeds the engine calls, second by second of virtual time, publishes to the board after
// each second as the daemon's runner does, and samples the History every 10 virtual seconds.
type sim struct {
	engine     *detectors.Engine
	board      *health.Board
	hist       *History
	rng        *rand.Rand
	now        time.Time
	nextSample time.Time
	req        uint64
	trans      []detectors.Transition
	statuses   []detectors.Status
	log        []detectors.Transition // every transition so far
	errorRate  map[detectors.SeriesKey]float64
	peak       incidents.Peak // the worst figures of anthropic's models
	// fresh is what ingest would say arrived: every second's calls, as the engine gets them.
	fresh *fixedFreshness
	// clock is now, for the page (Options.Now), which reads it from its handlers.
	clock atomic.Int64
}

// Now is the virtual time: the page runs on it, so that its times and charts match the calls.
func (s *sim) Now() time.Time { return time.Unix(0, s.clock.Load()) }

// simSeries are the series with their calls per second and the error message they fail with.
var simSeries = []struct {
	key  detectors.SeriesKey
	rate int
	msg  string
}{
	{sonnet, 4, overloaded},
	{haiku, 2, overloaded},
	{gpt, 3, "Error code: 503 - upstream connect error"},
	{evil, 2, hostileError},
}

func newSim(t *testing.T, start time.Time) *sim {
	t.Helper()
	e, err := detectors.NewEngine(detectors.DefaultConfig())
	require.NoError(t, err)
	board := health.NewBoard()
	return &sim{
		engine: e, board: board, hist: NewHistory(board, 10*time.Second, time.Hour),
		rng: rand.New(rand.NewPCG(9, 17)), now: start, nextSample: start, errorRate: map[detectors.SeriesKey]float64{},
		fresh: &fixedFreshness{f: health.Freshness{Start: start}},
	}
}

func (s *sim) second() {
	for _, ser := range simSeries {
		for i := range ser.rate {
			s.req++
			c := detectors.Call{
				Time: s.now.Add(time.Duration(i) * time.Second / time.Duration(ser.rate)), Provider: ser.key.Provider,
				Model: ser.key.Model, Operation: "chat", Outcome: detectors.OutcomeOK, FinishReason: detectors.FinishStop,
				RequestID: s.req, Duration: time.Duration(700+s.rng.IntN(900)) * time.Millisecond, InputTokens: 600, OutputTokens: 250,
			}
			if s.rng.Float64() < s.errorRate[ser.key] {
				c.Outcome, c.ErrorClass, c.HTTPStatus, c.FinishReason, c.ErrorMessage = detectors.OutcomeError, detectors.ClassOverloaded, 529, detectors.FinishNone, ser.msg
				c.OutputTokens = 0
			}
			s.trans = s.engine.Observe(s.now, &c, s.trans)
		}
	}
	s.now = s.now.Add(time.Second)
	s.clock.Store(s.now.UnixNano())
	s.fresh.set(health.Freshness{Start: s.fresh.Freshness(s.now).Start, LastSpan: s.now, CallsPerSecond: 11, Providers: []health.ProviderFreshness{
		{Provider: "anthropic", LastCall: s.now, CallsPerSecond: 6}, {Provider: "openai", LastCall: s.now, CallsPerSecond: 5},
	}})
	s.trans = s.engine.Tick(s.now, s.trans)
	s.statuses = s.engine.Status(s.now, s.statuses[:0])
	for _, st := range s.statuses {
		if st.Series.Provider == "anthropic" && st.Series.Model != "" {
			s.peak = s.peak.Merge(incidents.Peak{ErrorRate: st.Figures.ErrorRate, TruncationRate: st.Figures.TruncationRate,
				RateLimitRate: st.Figures.RateLimitRate, CallRate: st.Figures.CallRate})
		}
	}
	s.board.Update(s.statuses, s.trans)
	s.log = append(s.log, s.trans...)
	s.trans = s.trans[:0]
	if !s.now.Before(s.nextSample) {
		s.hist.Sample(s.now)
		s.nextSample = s.now.Add(s.hist.Every())
	}
}

// runUntil runs until every key is in state, or fails after limit of virtual time.
func (s *sim) runUntil(t *testing.T, limit time.Duration, state detectors.State, keys ...detectors.SeriesKey) {
	t.Helper()
	end := s.now.Add(limit)
	for s.now.Before(end) {
		s.second()
		if s.allIn(state, keys) {
			return
		}
	}
	t.Fatalf("after %s of calls, not every series of %v is %s", limit, keys, state)
}

func (s *sim) allIn(state detectors.State, keys []detectors.SeriesKey) bool {
	for _, k := range keys {
		if st, ok := s.board.Get(k); !ok || st.State != state {
			return false
		}
	}
	return true
}

// run advances d of virtual time.
func (s *sim) run(d time.Duration) {
	for end := s.now.Add(d); s.now.Before(end); {
		s.second()
	}
}

func (s *sim) setErrors(p float64, keys ...detectors.SeriesKey) {
	for _, k := range keys {
		s.errorRate[k] = p
	}
}

// incidentOf builds the incident the manager would record for anthropic from the transitions
// so far: what the page's incident part shows.
func (s *sim) incidentOf(resolved bool) ([]incidents.Incident, map[int64][]incidents.Event) {
	inc := incidents.Incident{ID: 1, Provider: "anthropic", Severity: incidents.SeverityCritical, State: incidents.StateOpen,
		Detectors: []string{"error_rate_mid"}, Models: []string{"", haiku.Model, sonnet.Model}, Peak: s.peak}
	var events []incidents.Event
	for _, tr := range s.log {
		if tr.Series.Provider != "anthropic" || tr.From == detectors.StateUnknown {
			continue
		}
		kind := incidents.EventTransition
		if len(events) == 0 {
			kind, inc.OpenedAt = incidents.EventOpened, tr.At
		}
		ev := tr.Evidence
		events = append(events, incidents.Event{
			ID: int64(len(events) + 1), IncidentID: 1, At: tr.At, Kind: kind, Provider: tr.Series.Provider, Model: tr.Series.Model,
			From: tr.From.String(), To: tr.To.String(), Actor: incidents.Actor,
			Evidence: incidents.Evidence{Detector: string(ev.Detector), Observed: ev.Observed, Baseline: ev.Baseline,
				Window: ev.Window.Seconds(), SampleSize: ev.SampleSize, Events: ev.Events, CallRate: ev.CallRate, SampleError: ev.SampleError},
		})
		inc.UpdatedAt = tr.At
	}
	if resolved {
		inc.State, inc.ResolvedAt, inc.ResolvedBy = incidents.StateResolved, inc.UpdatedAt, incidents.Actor
		events = append(events, incidents.Event{ID: int64(len(events) + 1), IncidentID: 1, At: inc.UpdatedAt, Kind: incidents.EventResolved, Actor: incidents.Actor})
	}
	return []incidents.Incident{inc}, map[int64][]incidents.Event{1: events}
}

// artefacts is where the screenshots go: $OUTAGEWATCH_ARTEFACTS, else a temporary directory.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OUTAGEWATCH_ARTEFACTS")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// seriesJS is a JavaScript expression for the element of a series, found by comparing data
// attributes (the model name is hostile: no selector is built from it).
func seriesJS(k detectors.SeriesKey) string {
	return `[...document.querySelectorAll("[data-series]")].find(e => e.dataset.provider === ` + strconv.Quote(k.Provider) +
		` && e.dataset.model === ` + strconv.Quote(k.Model) + `)`
}

// stateIs is a JavaScript expression: the series shows state, as attribute and as word.
func stateIs(k detectors.SeriesKey, state string) string {
	return `(() => { const el = ` + seriesJS(k) + `; return !!el && el.dataset.state === ` + strconv.Quote(state) +
		` && el.querySelector('[data-role="state"]').textContent === ` + strconv.Quote(state) + `; })()`
}

func TestBrowserFollowsAnOutageLive(t *testing.T) {
	start := time.Now()
	dir := artefacts(t)
	b := startBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// An hour and five minutes of healthy traffic: the engine's warm-up, and the charts' hour.
	begin := time.Now().Add(-70 * time.Minute)
	s := newSim(t, begin)
	s.setErrors(0.01, sonnet, haiku, gpt, evil)
	s.runUntil(t, 70*time.Minute, detectors.StateHealthy, sonnet, haiku, gpt, evil)
	s.run(begin.Add(65 * time.Minute).Sub(s.now))
	require.True(t, s.allIn(detectors.StateHealthy, []detectors.SeriesKey{sonnet, haiku, gpt, evil}))

	q := &fakeQuery{}
	silences := fakeSilences([]incidents.Silence{{ID: 1, Provider: "openai", Model: "gpt-4o", Until: time.Now().Add(2 * time.Hour),
		Reason: "provider maintenance window", CreatedBy: "alice", CreatedAt: time.Now().Add(-time.Hour)}}, nil)
	mux := http.NewServeMux()
	New(s.board, s.hist, q, silences, Options{Title: "outagewatch", Now: s.Now, Freshness: s.fresh}).Register(mux)
	health.NewAPI(s.board, health.HTTPOptions{Heartbeat: 500 * time.Millisecond}).Register(mux)
	srv := httptest.NewServer(mux)
	defer closeServer(srv)

	page := b.newTab(ctx, t)
	page.viewport(ctx, t, 1280, 900, false)
	page.navigate(ctx, t, srv.URL+"/")
	page.waitFor(ctx, t, "the live stream", `window.outagewatch && window.outagewatch.connection === "live" && window.outagewatch.snapshots > 0`, 10*time.Second)
	require.NoError(t, page.eval(ctx, `window.__loadedOnce = "marker"; true`, nil))
	page.waitFor(ctx, t, "sonnet healthy", stateIs(sonnet, "healthy"), time.Second)
	var banner string
	require.NoError(t, page.eval(ctx, `document.getElementById("connection").textContent`, &banner))
	require.Equal(t, "Live: changes appear as they happen.", banner)

	// Traffic arrives: the top of the page says so. Then it stops (the exporters went away):
	// once nothing has arrived for longer than the silence timeout, the page warns, without a
	// reload, and the warning goes when traffic comes back.
	var traffic string
	require.NoError(t, page.eval(ctx, `document.querySelector('[data-part="ingest"] [data-role="arrivals"]').textContent`, &traffic))
	require.Regexp(t, `^last span <1s ago · 11 calls/s \(at \d\d:\d\d:\d\d UTC\)$`, traffic)
	var warned bool
	require.NoError(t, page.eval(ctx, `!!document.querySelector('[data-role="no-traffic"]')`, &warned))
	require.False(t, warned, "no warning while traffic arrives")
	quietSince := s.now.Add(-2 * time.Minute)
	s.fresh.set(health.Freshness{Start: begin, LastSpan: quietSince, Providers: []health.ProviderFreshness{
		{Provider: "anthropic", LastCall: quietSince}, {Provider: "openai", LastCall: quietSince},
	}})
	page.waitFor(ctx, t, "the no-traffic warning", `(() => { const w = document.querySelector('[data-part="ingest"] [data-role="no-traffic"]');
		return !!w && w.textContent.startsWith("No traffic for 2m 0s: nothing has arrived since ") &&
			document.querySelector('[data-arrivals="anthropic"]').textContent === "anthropic: no calls for 2m 0s · 0 calls/s"; })()`, 15*time.Second)
	var sameLoad bool
	require.NoError(t, page.eval(ctx, `window.__loadedOnce === "marker"`, &sameLoad))
	require.True(t, sameLoad, "the warning came without a reload")
	page.screenshot(ctx, t, filepath.Join(dir, "statuspage-no-traffic.png"))

	// The outage: anthropic's calls fail, and the hostile model's too, with a hostile message.
	s.setErrors(1, sonnet, haiku, evil)
	s.runUntil(t, 3*time.Minute, detectors.StateDown, sonnet, haiku, evil, detectors.SeriesKey{Provider: "anthropic"})
	s.run(2 * time.Minute) // the outage goes on: the figures and charts show it
	q.set(s.incidentOf(false))
	page.waitFor(ctx, t, "sonnet down", stateIs(sonnet, "down"), 5*time.Second)
	page.waitFor(ctx, t, "anthropic down", stateIs(detectors.SeriesKey{Provider: "anthropic"}, "down"), 5*time.Second)
	page.waitFor(ctx, t, "the hostile model down", stateIs(evil, "down"), 5*time.Second)
	requireNoReload(ctx, t, page)
	var reason string
	require.NoError(t, page.eval(ctx, seriesJS(sonnet)+`.querySelector('[data-role="reason"]').textContent`, &reason))
	require.Regexp(t, `^errors \((partial|hard) outage\): 100% against a usual`, reason)
	require.Contains(t, reason, "overloaded")

	// Hostile text arrived through the stream and the refreshes, and stayed text.
	var evilText struct {
		Name, Reason string
		Images       int
		Scripts      int
	}
	require.NoError(t, page.eval(ctx, `(() => { const el = `+seriesJS(evil)+`; return {
		Name: el.querySelector(".name").textContent, Reason: el.querySelector('[data-role="reason"]').textContent,
		Images: document.querySelectorAll("img").length, Scripts: document.querySelectorAll("script").length }; })()`, &evilText))
	require.Equal(t, hostile, evilText.Name)
	require.Contains(t, evilText.Reason, "<img src=x onerror=alert(2)>")
	require.Zero(t, evilText.Images, "no element was made from the data")
	require.Equal(t, 1, evilText.Scripts, "only live.js")

	page.waitFor(ctx, t, "the incident on the page", `!!document.querySelector('[data-incident="1"] .timeline li')`, 15*time.Second)
	page.waitFor(ctx, t, "traffic again", `!document.querySelector('[data-role="no-traffic"]') && document.querySelector('[data-part="ingest"]').dataset.traffic === "ok"`, 15*time.Second)
	page.screenshot(ctx, t, filepath.Join(dir, "statuspage-down.png"))

	// Recovery steps down: down, degraded after the hold-down, then healthy.
	s.setErrors(0.01, sonnet, haiku, evil)
	s.runUntil(t, 5*time.Minute, detectors.StateDegraded, sonnet)
	page.waitFor(ctx, t, "sonnet degraded", stateIs(sonnet, "degraded"), 5*time.Second)
	s.runUntil(t, 10*time.Minute, detectors.StateHealthy, sonnet, haiku, evil, detectors.SeriesKey{Provider: "anthropic"}, detectors.SeriesKey{Provider: "openai"})
	s.run(30 * time.Second)
	q.set(s.incidentOf(true))
	page.waitFor(ctx, t, "sonnet healthy again", stateIs(sonnet, "healthy"), 5*time.Second)
	page.waitFor(ctx, t, "anthropic healthy again", stateIs(detectors.SeriesKey{Provider: "anthropic"}, "healthy"), 5*time.Second)
	page.waitFor(ctx, t, "the incident resolved", `!!document.querySelector('[data-part="resolved"] a[href="/incidents/1"]') && !document.querySelector('[data-incident="1"]')`, 15*time.Second)
	requireNoReload(ctx, t, page)
	page.screenshot(ctx, t, filepath.Join(dir, "statuspage-recovered.png"))

	// On a phone: one column, nothing wider than the screen.
	page.viewport(ctx, t, 375, 812, true)
	var overflow struct {
		ScrollWidth, ClientWidth int
		Wide                     []string
	}
	require.NoError(t, page.eval(ctx, `(() => { const w = document.documentElement.clientWidth; return {
		ScrollWidth: document.documentElement.scrollWidth, ClientWidth: w,
		Wide: [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > w + 0.5)
			.slice(0, 10).map(e => e.tagName + " " + e.getAttribute("class") + " " + Math.round(e.getBoundingClientRect().right)) }; })()`, &overflow))
	require.LessOrEqual(t, overflow.ScrollWidth, overflow.ClientWidth, "no horizontal scrolling at 375 px; too wide: %v", overflow.Wide)
	page.screenshot(ctx, t, filepath.Join(dir, "statuspage-phone.png"))
	page.viewport(ctx, t, 1280, 900, false)

	// The incident's own page, in another tab.
	inc := b.newTab(ctx, t)
	inc.viewport(ctx, t, 1280, 900, false)
	inc.navigate(ctx, t, srv.URL+"/incidents/1")
	inc.waitFor(ctx, t, "the incident page", `document.readyState === "complete" && document.querySelector("h1").textContent === "Incident #1: anthropic"`, 5*time.Second)
	var evidenceShown int
	require.NoError(t, inc.eval(ctx, `document.querySelectorAll(".timeline dl.evidence").length`, &evidenceShown))
	require.Positive(t, evidenceShown)
	inc.screenshot(ctx, t, filepath.Join(dir, "statuspage-incident.png"))

	// Without JavaScript, the page is all there, static.
	static := b.newTab(ctx, t)
	static.viewport(ctx, t, 1280, 900, false)
	require.NoError(t, static.call(ctx, "Emulation.setScriptExecutionDisabled", map[string]any{"value": true}, nil))
	static.navigate(ctx, t, srv.URL+"/")
	static.waitFor(ctx, t, "the static page", `document.readyState === "complete" && !!document.getElementById("live")`, 5*time.Second)
	type staticView struct {
		Traffic    string // the traffic line
		Script     bool   // the live script ran
		Series     int
		Charts     int // drawn sparklines
		Connection string
		Resolved   bool // the resolved incident is listed
	}
	var noJS staticView
	require.NoError(t, static.eval(ctx, `({Traffic: document.querySelector('[data-role="arrivals"]').textContent.replace(/ \(at .*\)$/, ""), Script: window.outagewatch !== undefined,
		Series: document.querySelectorAll("[data-series]").length, Charts: document.querySelectorAll("svg.spark path").length,
		Connection: document.getElementById("connection").dataset.connection,
		Resolved: !!document.querySelector('[data-part="resolved"] a[href="/incidents/1"]')})`, &noJS))
	require.Equal(t, staticView{Traffic: "last span <1s ago · 11 calls/s", Script: false, Series: 6, Charts: 24, Connection: "static", Resolved: true}, noJS)
	static.screenshot(ctx, t, filepath.Join(dir, "statuspage-nojs.png"))

	// The daemon goes away: the page says so, and keeps what it showed.
	closeServer(srv)
	page.waitFor(ctx, t, "the lost banner", `document.getElementById("connection").dataset.connection === "lost" && document.getElementById("connection").textContent.startsWith("Connection lost, retrying…")`, 10*time.Second)
	page.waitFor(ctx, t, "the states kept", stateIs(sonnet, "healthy"), time.Second)
	page.screenshot(ctx, t, filepath.Join(dir, "statuspage-lost.png"))

	require.Empty(t, b.eventsNamed("Page.javascriptDialogOpening"), "no script ran from the data")
	for _, e := range b.eventsNamed("Runtime.exceptionThrown") {
		t.Errorf("page script exception: %s", e.Params)
	}
	for _, e := range b.eventsNamed("Log.entryAdded") {
		require.NotContains(t, string(e.Params), "Content Security Policy", "the page needs nothing the policy forbids")
	}
	for _, name := range []string{"statuspage-no-traffic.png", "statuspage-down.png", "statuspage-recovered.png", "statuspage-phone.png", "statuspage-lost.png", "statuspage-incident.png", "statuspage-nojs.png"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("/tmp", name), data, 0o644), "the copy for the lead")
	}
	t.Logf("screenshots in %s, copies in /tmp; the test took %s", dir, time.Since(start).Round(time.Millisecond))
}

// closeServer stops the server with the page's stream open: Close alone would wait for it.
// Closing the listener first keeps the page from reconnecting in between.
func closeServer(srv *httptest.Server) {
	_ = srv.Listener.Close()
	srv.CloseClientConnections()
	srv.Close()
}

// requireNoReload checks that the page is the one first loaded: a marker set then is still
// there, and the stream's changes were applied by the script.
func requireNoReload(ctx context.Context, t *testing.T, page *tab) {
	t.Helper()
	var state struct {
		Marker  string
		Changes int
	}
	require.NoError(t, page.eval(ctx, `({Marker: window.__loadedOnce || "", Changes: window.outagewatch.changes})`, &state))
	require.Equal(t, "marker", state.Marker, "the page was not reloaded")
	require.Positive(t, state.Changes, "changes came through the stream")
}
