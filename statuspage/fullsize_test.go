package statuspage

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// fullSizeBoard is the board at ingest's default caps (32 providers of 64 models, issue 20) with
// an hour of history: every model healthy but, in each provider, model 03 degraded (with a
// caller failing on its own) and model 05 unknown; provider-07 is down with its model 00.
func fullSizeBoard(tb testing.TB) (*health.Board, *History) {
	tb.Helper()
	board := health.NewBoard()
	tb.Cleanup(board.Close)
	hist := NewHistory(board, 10*time.Second, time.Hour)
	st := fullSizeStatuses()
	for at := now.Add(-time.Hour); !at.After(now); at = at.Add(10 * time.Second) {
		board.Update(st, nil)
		hist.Sample(at)
	}
	return board, hist
}

// fullSizeStatuses are fullSizeBoard's statuses.
func fullSizeStatuses() []detectors.Status {
	var st []detectors.Status
	for i := range 32 {
		provider := fmt.Sprintf("provider-%02d", i)
		ps := detectors.Status{Series: detectors.SeriesKey{Provider: provider}, State: detectors.StateHealthy, Since: warmAt,
			Evidence: detectors.Evidence{Detector: detectors.DetectorWarmup}, Figures: detectors.Figures{CallRate: 64, ErrorRate: 0.004}}
		if i == 7 {
			ps.State, ps.Since, ps.Evidence = detectors.StateDown, downAt, detectors.Evidence{Detector: detectors.DetectorRollup}
		}
		st = append(st, ps)
		for j := range 64 {
			s := detectors.Status{Series: detectors.SeriesKey{Provider: provider, Model: fmt.Sprintf("model-%02d-%02d-2026-01-01", i, j)},
				State: detectors.StateHealthy, Since: warmAt, Evidence: detectors.Evidence{Detector: detectors.DetectorWarmup},
				Figures: detectors.Figures{CallRate: 1, ErrorRate: 0.004, LatencyP95: 2 * time.Second}}
			switch {
			case i == 7 && j == 0:
				s.State, s.Since, s.Evidence = detectors.StateDown, downAt, sonnetEvidence()
			case j == 3:
				s.State, s.Since = detectors.StateDegraded, evilAt
				s.Evidence = detectors.Evidence{Detector: detectors.DetectorErrorRate, Observed: 0.3, Baseline: 0.01, SampleSize: 20, Events: 6, Window: 40 * time.Second}
				s.Local = []detectors.Status{{Series: detectors.SeriesKey{Provider: provider, Model: s.Series.Model,
					Caller: detectors.Caller{Kind: detectors.CallerService, Name: "batch-jobs"}}, State: detectors.StateDown, Since: evilAt, Evidence: s.Evidence}}
			case j == 5:
				s.State = detectors.StateUnknown
				s.Evidence = detectors.Evidence{Detector: detectors.DetectorSilence, Window: 2 * time.Minute}
			}
			st = append(st, s)
		}
	}
	return st
}

// serveFullSize serves the page over the full-size board.
func serveFullSize(tb testing.TB) http.Handler {
	tb.Helper()
	board, hist := fullSizeBoard(tb)
	mux := http.NewServeMux()
	New(board, hist, fixtureIncidents(), fixtureSilences(), Options{Now: func() time.Time { return now }}).Register(mux)
	return mux
}

// BenchmarkIndexFullSize renders the status page and its live fragment at full size, and
// reports their size.
//
//	go test -run '^$' -bench IndexFullSize -benchmem ./statuspage/
func BenchmarkIndexFullSize(b *testing.B) {
	h := serveFullSize(b)
	for _, path := range []string{"/", "/?fragment=live"} {
		b.Run(strings.TrimPrefix(path, "/?"), func(b *testing.B) {
			var size int
			b.ReportAllocs()
			for range b.N {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "page-bytes")
		})
	}
}

// fullSizeMaxPage bounds the page at full size: 5.1 MB before models were folded (issue 20),
// about 240 KB after. The size does not depend on the machine, so it is asserted.
const fullSizeMaxPage = 400 << 10

// At full size a provider's healthy models are one line, its unknown models another; degraded
// and down models, and those with a caller failing on its own, keep their cards; the summary
// still counts every series.
func TestIndexFoldsModelsAtFullSize(t *testing.T) {
	t.Parallel()
	h := serveFullSize(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	require.Less(t, len(body), fullSizeMaxPage)
	t.Logf("page: %d bytes", len(body))

	require.Contains(t, body, `<p id="summary" class="summary" data-part="summary">2080 series: 3 down, 32 degraded, 31 unknown, 2014 healthy.</p>`)
	require.Contains(t, body, `<li class="fold" data-fold data-provider="provider-00" data-state="healthy" data-count="62"><details><summary>62 models <span class="state state-healthy">healthy</span></summary><p class="fold-names">model-00-00-2026-01-01, model-00-01-2026-01-01, model-00-02-2026-01-01, model-00-04-2026-01-01, `)
	require.Contains(t, body, `<li class="fold" data-fold data-provider="provider-00" data-state="unknown" data-count="1"><details><summary>1 model <span class="state state-unknown">unknown</span></summary><p class="fold-names">model-00-05-2026-01-01</p>`)
	require.Contains(t, seriesBlock(t, body, "provider-00", "model-00-03-2026-01-01"), `data-state="degraded"`)
	require.Contains(t, seriesBlock(t, body, "provider-00", "model-00-03-2026-01-01"), `<strong>service batch-jobs</strong>`)
	require.NotContains(t, body, `data-model="model-00-04-2026-01-01"`, "a healthy model is folded")

	// provider-07 is down: its unknown model is down in effect, so it has its card.
	require.Contains(t, seriesBlock(t, body, "provider-07", "model-07-05-2026-01-01"), `data-state="down" data-own-state="unknown"`)
	require.Contains(t, seriesBlock(t, body, "provider-07", "model-07-00-2026-01-01"), `data-state="down"`)
	require.Contains(t, body, `data-provider="provider-07" data-state="healthy" data-count="61"`)
	require.NotContains(t, body, `data-provider="provider-07" data-state="unknown"`)
}

// A provider with foldModelsAbove models or fewer shows every model's card.
func TestIndexFoldsOnlyLargeProviders(t *testing.T) {
	t.Parallel()
	st := fullSizeStatuses()[:1+foldModelsAbove]
	board := health.NewBoard()
	defer board.Close()
	board.Update(st, nil)
	mux := http.NewServeMux()
	New(board, nil, fixtureIncidents(), fixtureSilences(), Options{Now: func() time.Time { return now }}).Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	require.NotContains(t, body, "data-fold")
	require.Equal(t, 1+foldModelsAbove, strings.Count(body, `<div class="series" data-series`))
}
