package statuspage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// A local verdict arrives on the stream as a "local" event: live.js adds the caller's entry under
// the model, leaves the model's state alone, and removes the entry when the verdict ends. The
// page's refreshes are refused meanwhile, so that what the page shows is live.js' own doing.
// The provider's own status page reports an incident: its line is under openai's header, with
// the note that our traffic is healthy, and stays there while live.js applies the events.
func TestBrowserShowsLocalVerdictsLive(t *testing.T) {
	b := startBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	clock := time.Now()
	prov := detectors.Status{Series: detectors.SeriesKey{Provider: "openai"}, State: detectors.StateHealthy, Since: clock.Add(-time.Hour),
		Evidence: detectors.Evidence{Detector: detectors.DetectorWarmup, SampleSize: 1}}
	model := prov
	model.Series = gpt
	board := health.NewBoard()
	board.Update([]detectors.Status{prov, model}, []detectors.Transition{{Series: gpt, To: detectors.StateHealthy, At: clock.Add(-time.Hour)}})

	var refuseRefresh atomic.Bool
	mux := http.NewServeMux()
	vendor := fakeVendor{"openai": vendorPage("openai", vendorstatus.IndicatorMajor, vendorIncident("Elevated errors on GPT-4o", clock.Add(-3*time.Minute)))}
	New(board, nil, &fakeQuery{}, fakeSilences(nil, nil), Options{Now: func() time.Time { return clock }, VendorStatus: vendor}).Register(mux)
	health.NewAPI(board, health.HTTPOptions{Heartbeat: 500 * time.Millisecond}).Register(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fragment") != "" && refuseRefresh.Load() {
			http.Error(w, "refused by the test", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	defer closeServer(srv)

	page := b.newTab(ctx, t)
	page.navigate(ctx, t, srv.URL+"/")
	page.waitFor(ctx, t, "the live stream", `window.outagewatch && window.outagewatch.connection === "live" && window.outagewatch.snapshots > 0`, 10*time.Second)
	require.NoError(t, page.eval(ctx, `window.__loadedOnce = "marker"; true`, nil))
	refuseRefresh.Store(true)
	vendorShown := `(() => { const p = ` + seriesJS(detectors.SeriesKey{Provider: "openai"}) + `, l = p.querySelector('[data-role="vendor"]'),
		n = p.querySelector('[data-role="vendor-note"]');
		return !!l && l.getBoundingClientRect().height > 0 && !!n && n.getBoundingClientRect().height > 0 &&
			/^Status page: Partial outage — Elevated errors on GPT-4o \(posted \d\d:\d\d UTC\)$/.test(l.textContent) &&
			l.querySelector("a").href === "https://status.openai.com/" &&
			n.textContent === "provider reports an incident; your traffic is healthy"; })()`
	page.waitFor(ctx, t, "the provider's own status page", vendorShown, time.Second)

	caller := detectors.Caller{Kind: detectors.CallerService, Name: "batch-jobs"}
	key := gpt
	key.Caller = caller
	ev := detectors.Evidence{Detector: detectors.DetectorErrorDown, Observed: 0.95, Baseline: 0.01, ChangePoint: clock, SampleSize: 20, Events: 19,
		Classes: []detectors.ClassCount{{Class: detectors.ClassTimeout, Count: 19}}, ConfinedTo: caller}
	local := detectors.Status{Series: key, State: detectors.StateDown, Since: clock, Evidence: ev}
	withLocal := model
	withLocal.Local = []detectors.Status{local}
	board.Update([]detectors.Status{prov, withLocal}, []detectors.Transition{{Series: key, From: detectors.StateHealthy, To: detectors.StateDown, At: clock, Evidence: ev}})

	entry := seriesJS(gpt) + `.querySelector('[data-caller="service:batch-jobs"]')`
	page.waitFor(ctx, t, "batch-jobs' entry", `(() => { const li = `+entry+`; return !!li && li.dataset.state === "down" &&
		li.closest("ul").hidden === false &&
		li.textContent.startsWith("service batch-jobs: down since ") &&
		li.textContent.endsWith(" — 95% timeout errors; the model is usable for its other callers"); })()`, 10*time.Second)
	var shown struct {
		State     string
		Refreshes int
	}
	require.NoError(t, page.eval(ctx, `({State: `+seriesJS(gpt)+`.dataset.state, Refreshes: window.outagewatch.refreshes})`, &shown))
	require.Equal(t, "healthy", shown.State, "a local verdict is not the model's state")
	require.Zero(t, shown.Refreshes, "the entry is live.js' own, not a refresh's")

	board.Update([]detectors.Status{prov, model}, []detectors.Transition{{Series: key, From: detectors.StateDown, To: detectors.StateHealthy, At: clock,
		Evidence: detectors.Evidence{Detector: detectors.DetectorRecovery}}})
	page.waitFor(ctx, t, "the entry gone", `!`+entry+` && `+seriesJS(gpt)+`.querySelector('[data-role="local"]').hidden`, 10*time.Second)
	page.waitFor(ctx, t, "the provider's own status page still there", vendorShown, time.Second)
	requireNoReload(ctx, t, page)
}
