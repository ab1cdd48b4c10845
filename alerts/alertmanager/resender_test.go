package alertmanager_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts/alertmanager"
	"github.com/outagewatch/outagewatch/incidents"
)

// fakeIncidents is an incidents.Query over stories.
type fakeIncidents struct {
	mu      sync.Mutex
	stories map[int64]*story
	listErr error
	// stale lists these incidents as active whatever their state: resolved between the
	// listing and the read.
	stale map[int64]bool
}

func (f *fakeIncidents) List(_ context.Context, flt incidents.Filter) ([]incidents.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []incidents.Incident
	for _, s := range f.stories {
		if flt.State == "active" && (s.inc.State.Active() || f.stale[s.inc.ID]) && (flt.Before == 0 || s.inc.ID < flt.Before) {
			out = append(out, s.inc)
		}
	}
	slices.SortFunc(out, func(a, b incidents.Incident) int { return int(b.ID - a.ID) })
	return out[:min(len(out), flt.Limit)], nil
}

func (f *fakeIncidents) Get(_ context.Context, id int64) (incidents.Incident, []incidents.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.stories[id]
	if !ok {
		return incidents.Incident{}, nil, incidents.ErrNotFound
	}
	return s.inc, s.timeline, nil
}

// recordingTransport records the alerts posted, in memory (no sockets, so that synctest sees
// every goroutine block).
type recordingTransport struct {
	mu    sync.Mutex
	posts [][]alertmanager.Alert
	fail  bool
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var as []alertmanager.Alert
	if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
		return nil, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	status := http.StatusOK
	if rt.fail {
		status = http.StatusServiceUnavailable
	} else {
		rt.posts = append(rt.posts, as)
	}
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// taken returns and forgets the posts so far, each as its incident IDs.
func (rt *recordingTransport) taken() [][]string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out [][]string
	for _, p := range rt.posts {
		var ids []string
		for _, a := range p {
			ids = append(ids, a.Labels["incident_id"])
		}
		out = append(out, ids)
	}
	rt.posts = nil
	return out
}

func TestResender(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		resolved := newOutage(3, start.Add(-time.Hour), incidents.SeverityCritical)
		resolved.resolve(start.Add(-time.Minute))
		src := &fakeIncidents{stories: map[int64]*story{
			1: newOutage(1, start.Add(-time.Hour), incidents.SeverityCritical),
			2: newOutage(2, start.Add(-time.Hour), incidents.SeverityWarning), // not selected
			3: resolved,
		}, stale: map[int64]bool{3: true}}
		var notifiers []*alertmanager.Notifier
		var transports []*recordingTransport
		for _, u := range []string{"http://am-0:9093", "http://am-1:9093"} {
			rt := &recordingTransport{}
			n, err := alertmanager.New(alertmanager.Options{URL: u, ResendInterval: 10 * time.Second, Client: &http.Client{Transport: rt}})
			require.NoError(t, err)
			notifiers, transports = append(notifiers, n), append(transports, rt)
		}
		var leading atomic.Bool
		leading.Store(true)
		var errs atomic.Int32
		logs := &levelCounter{}
		r, err := alertmanager.NewResender(alertmanager.ResenderOptions{
			Notifiers: notifiers,
			Incidents: src,
			Select: func(_ context.Context, inc incidents.Incident, timeline []incidents.Event) bool {
				require.NotEmpty(t, timeline)
				return inc.Severity == incidents.SeverityCritical
			},
			Leading: leading.Load,
			OnError: func(error) { errs.Add(1) },
			Logger:  slog.New(logs),
		})
		require.NoError(t, err)
		require.Equal(t, 10*time.Second, r.Interval())
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()

		synctest.Wait()
		for _, rt := range transports {
			require.Equal(t, [][]string{{"1"}}, rt.taken(), "at once: the active incidents selected, to every Alertmanager")
		}
		time.Sleep(9 * time.Second)
		synctest.Wait()
		require.Empty(t, transports[0].taken(), "not before the interval")
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, [][]string{{"1"}}, transports[0].taken(), "every interval")
		require.Equal(t, [][]string{{"1"}}, transports[1].taken())

		leading.Store(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Empty(t, transports[0].taken(), "only the leader sends")

		leading.Store(true)
		src.mu.Lock()
		src.stories[4] = newOutage(4, time.Now(), incidents.SeverityCritical)
		src.mu.Unlock()
		transports[0].mu.Lock()
		transports[0].fail = true
		transports[0].mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, int32(1), errs.Load(), "the failing Alertmanager is counted")
		require.Equal(t, [][]string{{"1", "4"}}, transports[1].taken(), "and holds back no other")

		src.mu.Lock()
		src.listErr = errors.New("database down")
		src.mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, int32(2), errs.Load())
		require.Equal(t, map[slog.Level]int{slog.LevelWarn: 1, slog.LevelDebug: 1}, logs.counts(),
			"one warning for a run of failed rounds")
		src.mu.Lock()
		src.listErr = nil
		src.mu.Unlock()
		transports[0].mu.Lock()
		transports[0].fail = false
		transports[0].mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, 1, logs.counts()[slog.LevelInfo], "and one line when it recovers")

		cancel()
		require.NoError(t, <-done)
	})
}

// levelCounter counts log records by level.
type levelCounter struct {
	mu sync.Mutex
	n  map[slog.Level]int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *levelCounter) WithGroup(string) slog.Handler            { return h }

func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = map[slog.Level]int{}
	}
	h.n[r.Level]++
	return nil
}

func (h *levelCounter) counts() map[slog.Level]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.n)
}

func TestResenderEndsAtAhead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rt := &recordingTransport{}
		n, err := alertmanager.New(alertmanager.Options{URL: "http://am:9093", ResendInterval: 10 * time.Second, Client: &http.Client{Transport: rt}})
		require.NoError(t, err)
		s := newOutage(1, time.Now().Add(-time.Hour), incidents.SeverityWarning)
		s.escalate(time.Now().Add(-time.Minute), "claude-sonnet-4-5")
		r, err := alertmanager.NewResender(alertmanager.ResenderOptions{
			Notifiers: []*alertmanager.Notifier{n}, Incidents: &fakeIncidents{stories: map[int64]*story{1: s}},
		})
		require.NoError(t, err)
		require.NoError(t, r.Resend(t.Context()))
		rt.mu.Lock()
		defer rt.mu.Unlock()
		require.Len(t, rt.posts, 1)
		require.Len(t, rt.posts[0], 2, "the alert and the label set it replaced")
		require.Equal(t, time.Now().Add(40*time.Second).UTC(), rt.posts[0][0].EndsAt)
		require.Equal(t, time.Now().UTC(), rt.posts[0][1].EndsAt)
	})
}

func TestNewResender(t *testing.T) {
	t.Parallel()
	_, err := alertmanager.NewResender(alertmanager.ResenderOptions{Incidents: &fakeIncidents{}})
	require.Error(t, err)
	n, err := alertmanager.New(alertmanager.Options{URL: "http://am:9093"})
	require.NoError(t, err)
	_, err = alertmanager.NewResender(alertmanager.ResenderOptions{Notifiers: []*alertmanager.Notifier{n}})
	require.Error(t, err)
}
