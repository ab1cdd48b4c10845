package statuspage

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/health"
)

// fixedFreshness is a FreshnessSource that the tests set.
type fixedFreshness struct {
	mu sync.Mutex
	f  health.Freshness
}

func (ff *fixedFreshness) Freshness(time.Time) health.Freshness {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	out := ff.f
	out.Providers = append([]health.ProviderFreshness(nil), ff.f.Providers...)
	return out
}

func (ff *fixedFreshness) set(f health.Freshness) {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	ff.f = f
}

func TestTrafficPart(t *testing.T) {
	t.Parallel()
	started := now.Add(-time.Hour)
	cases := []struct {
		name      string
		fresh     health.Freshness
		want      []string
		notWant   []string
		noTraffic bool
	}{
		{
			name: "arriving",
			fresh: health.Freshness{Start: started, LastSpan: now.Add(-3 * time.Second), CallsPerSecond: 6.25, Providers: []health.ProviderFreshness{
				{Provider: "anthropic", LastCall: now.Add(-3 * time.Second), CallsPerSecond: 6.2},
				{Provider: "openai", LastCall: now.Add(-5 * time.Minute), CallsPerSecond: 0.05},
				{Provider: hostile, LastCall: now.Add(-10 * time.Second), CallsPerSecond: 0},
			}},
			want: []string{
				`<p class="arrivals" data-role="arrivals">last span 3s ago · 6.2 calls/s (at <time datetime="2026-06-20T14:09:57Z">14:09:57 UTC</time>)</p>`,
				`<li data-arrivals="anthropic"><strong>anthropic</strong>: last call 3s ago · 6.2 calls/s</li>`,
				`<li data-arrivals="openai" class="quiet"><strong>openai</strong>: no calls for 5m 0s · 0.050 calls/s</li>`,
				`<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>: last call 10s ago · 0 calls/s`,
				`data-traffic="ok"`,
			},
			notWant: []string{"No traffic"},
		},
		{
			name:  "silent longer than the silence timeout",
			fresh: health.Freshness{Start: started, LastSpan: now.Add(-125 * time.Second), Providers: []health.ProviderFreshness{{Provider: "anthropic", LastCall: now.Add(-125 * time.Second)}}},
			want: []string{
				`<strong>No traffic for 2m 5s: nothing has arrived since 14:07:55 UTC, longer than the detectors&#39; silence timeout (1m 0s).`,
				`last span 2m 5s ago · 0 calls/s`,
				`<li data-arrivals="anthropic" class="quiet"><strong>anthropic</strong>: no calls for 2m 5s · 0 calls/s</li>`,
			},
			noTraffic: true,
		},
		{
			name:    "nothing yet, just started",
			fresh:   health.Freshness{Start: now.Add(-10 * time.Second)},
			want:    []string{`no span received yet · 0 calls/s</p>`, `data-traffic="ok"`},
			notWant: []string{"No traffic", `data-arrivals=`},
		},
		{
			name:      "nothing since the start, longer than the silence timeout",
			fresh:     health.Freshness{Start: now.Add(-3 * time.Minute)},
			want:      []string{`<strong>No traffic for 3m 0s: nothing has arrived since outagewatch started.`, `no span received yet`},
			noTraffic: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ff := &fixedFreshness{f: tc.fresh}
			srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{Freshness: ff})
			for _, url := range []string{srv.URL + "/", srv.URL + "/?fragment=live"} {
				_, body := get(t, url)
				part := section(t, body, "ingest")
				for _, w := range tc.want {
					require.Contains(t, part, w)
				}
				for _, w := range tc.notWant {
					require.NotContains(t, part, w)
				}
				require.Equal(t, tc.noTraffic, strings.Contains(part, `data-role="no-traffic"`))
				require.Less(t, strings.Index(body, `data-part="ingest"`), strings.Index(body, `data-part="provider:anthropic"`), "the traffic part is at the top")
			}
		})
	}
}

func TestTrafficPartFollowsTheSilenceSetting(t *testing.T) {
	t.Parallel()
	ff := &fixedFreshness{f: health.Freshness{Start: now.Add(-time.Hour), LastSpan: now.Add(-90 * time.Second)}}
	_, body := get(t, serve(t, fixtureIncidents(), fixtureSilences(), Options{Freshness: ff}).URL+"/")
	require.Contains(t, section(t, body, "ingest"), "No traffic for 1m 30s", "the default silence_min is 60 s")
	_, body = get(t, serve(t, fixtureIncidents(), fixtureSilences(), Options{Freshness: ff, SilenceAfter: 2 * time.Minute}).URL+"/")
	require.NotContains(t, section(t, body, "ingest"), "No traffic")
}

func TestNoTrafficPartWithoutASource(t *testing.T) {
	t.Parallel()
	_, body := get(t, serve(t, fixtureIncidents(), fixtureSilences(), Options{}).URL+"/")
	require.NotContains(t, body, `data-part="ingest"`)
}
