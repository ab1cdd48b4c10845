package statuspage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// At full size (2,080 series, issue 20) the page folds healthy models: the stream's snapshot
// matches the folds (no refresh for it), the summary counts the folded models, and a folded
// model that goes down gets its card live, through a refresh, with the fold one shorter.
func TestBrowserFollowsFoldedModelsLive(t *testing.T) {
	b := startBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	board := health.NewBoard()
	defer board.Close()
	st := fullSizeStatuses()
	board.Update(st, nil)
	mux := http.NewServeMux()
	New(board, nil, &fakeQuery{}, fakeSilences(nil, nil), Options{Now: func() time.Time { return now }}).Register(mux)
	health.NewAPI(board, health.HTTPOptions{Heartbeat: 500 * time.Millisecond}).Register(mux)
	srv := httptest.NewServer(mux)
	defer closeServer(srv)

	page := b.newTab(ctx, t)
	page.navigate(ctx, t, srv.URL+"/")
	page.waitFor(ctx, t, "the live stream", `window.outagewatch && window.outagewatch.connection === "live" && window.outagewatch.snapshots > 0`, 10*time.Second)
	require.NoError(t, page.eval(ctx, `window.__loadedOnce = "marker"; true`, nil))
	var shown struct {
		Summary   string
		Refreshes int
	}
	require.NoError(t, page.eval(ctx, `({Summary: document.getElementById("summary").textContent, Refreshes: window.outagewatch.refreshes})`, &shown))
	require.Equal(t, "2080 series: 3 down, 32 degraded, 31 unknown, 2014 healthy.", shown.Summary)
	require.Zero(t, shown.Refreshes, "the snapshot matches the folds")

	key := detectors.SeriesKey{Provider: "provider-01", Model: "model-01-10-2026-01-01"}
	for i := range st {
		if st[i].Series == key {
			st[i].State, st[i].Since, st[i].Evidence = detectors.StateDown, now, sonnetEvidence()
		}
	}
	board.Update(st, []detectors.Transition{{Series: key, From: detectors.StateHealthy, To: detectors.StateDown, At: now, Evidence: sonnetEvidence()}})
	page.waitFor(ctx, t, "the model's card", stateIs(key, "down"), 10*time.Second)
	page.waitFor(ctx, t, "the fold and summary", `(() => {
		const f = [...document.querySelectorAll("[data-fold]")].find(e => e.dataset.provider === "provider-01" && e.dataset.state === "healthy");
		return !!f && f.dataset.count === "61" && f.querySelector("summary").textContent === "61 models healthy" &&
			document.getElementById("summary").textContent === "2080 series: 4 down, 32 degraded, 31 unknown, 2013 healthy.";
	})()`, 10*time.Second)
	requireNoReload(ctx, t, page)
}
