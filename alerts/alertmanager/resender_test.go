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
	// gate, when set before the first request, holds every request until it is closed.
	gate chan struct{}
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if rt.gate != nil {
		<-rt.gate
	}
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

// gatedIncidents is an incidents.Query whose Get reads the incident, says so on read, and
// returns what it read only once release is closed: a resender round paused between its read
// of the store and its POST. It serves one Get.
type gatedIncidents struct {
	*fakeIncidents
	read    chan struct{}
	release chan struct{}
}

func (g *gatedIncidents) Get(ctx context.Context, id int64) (incidents.Incident, []incidents.Event, error) {
	inc, timeline, err := g.fakeIncidents.Get(ctx, id)
	close(g.read)
	<-g.release
	return inc, timeline, err
}

// TestResenderNeverOvertakesAResolution: the incident resolves, and its resolve row is
// notified, while a resender round is between its read of the incident (still active) and its
// POST. The round's firing alert must not reach Alertmanager after the resolution: Alertmanager
// would fire the resolved alert again for 4 resend intervals. synctest.Wait lets the resolve
// row's Notify go as far as it can before the round goes on: with no lock between them it has
// posted by then, and the round's stale firing alert would come last.
func TestResenderNeverOvertakesAResolution(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rt := &recordingTransport{}
		n, err := alertmanager.New(alertmanager.Options{URL: "http://am:9093", ResendInterval: 10 * time.Second, Client: &http.Client{Transport: rt}})
		require.NoError(t, err)
		s := newOutage(1, time.Now().Add(-time.Hour), incidents.SeverityCritical)
		src := &gatedIncidents{
			fakeIncidents: &fakeIncidents{stories: map[int64]*story{1: s}},
			read:          make(chan struct{}),
			release:       make(chan struct{}),
		}
		r, err := alertmanager.NewResender(alertmanager.ResenderOptions{Notifiers: []*alertmanager.Notifier{n}, Incidents: src})
		require.NoError(t, err)
		round := make(chan error, 1)
		go func() { round <- r.Resend(t.Context()) }()
		<-src.read

		src.mu.Lock()
		s.resolve(time.Now())
		resolveRow := s.notification(incidents.NotifyResolve)
		src.mu.Unlock()
		notified := make(chan error, 1)
		go func() {
			_, err := n.Notify(t.Context(), resolveRow)
			notified <- err
		}()
		synctest.Wait() // the resolve row posted, or waiting for the round
		close(src.release)
		require.NoError(t, <-round)
		require.NoError(t, <-notified)

		rt.mu.Lock()
		defer rt.mu.Unlock()
		require.Len(t, rt.posts, 2, "the round's POST and the resolve row's")
		require.Len(t, rt.posts[0], 1)
		require.Equal(t, time.Now().Add(40*time.Second).UTC(), rt.posts[0][0].EndsAt, "the round's firing alert first")
		require.Len(t, rt.posts[1], 1)
		require.Equal(t, s.inc.ResolvedAt.UTC(), rt.posts[1][0].EndsAt, "the resolution last")
		require.Equal(t, rt.posts[0][0].Labels, rt.posts[1][0].Labels, "of the same alert")
	})
}

// TestResenderWaitsForNotify: a round finds one notifier's lock taken by a Notify whose POST
// has not returned; it has posted to the notifier before that one already, posts to that one
// after the Notify, and returns if its context ends while it waits.
func TestResenderWaitsForNotify(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var transports []*recordingTransport
		var ns []*alertmanager.Notifier
		for _, u := range []string{"http://am-0:9093", "http://am-1:9093"} {
			rt := &recordingTransport{}
			n, err := alertmanager.New(alertmanager.Options{URL: u, ResendInterval: 10 * time.Second, Client: &http.Client{Transport: rt}})
			require.NoError(t, err)
			ns, transports = append(ns, n), append(transports, rt)
		}
		transports[1].gate = make(chan struct{})
		s := newOutage(1, time.Now().Add(-time.Hour), incidents.SeverityCritical)
		r, err := alertmanager.NewResender(alertmanager.ResenderOptions{
			Notifiers: ns, Incidents: &fakeIncidents{stories: map[int64]*story{1: s}},
		})
		require.NoError(t, err)
		notified := make(chan error, 1)
		go func() {
			_, err := ns[1].Notify(t.Context(), s.notification(incidents.NotifyOpen))
			notified <- err
		}()
		synctest.Wait() // Notify holds am-1's lock, inside its POST

		ctx, cancel := context.WithCancel(t.Context())
		round := make(chan error, 1)
		go func() { round <- r.Resend(ctx) }()
		synctest.Wait()
		require.Equal(t, [][]string{{"1"}}, transports[0].taken(), "am-0 is not held back")
		cancel()
		require.ErrorIs(t, <-round, context.Canceled, "a round waiting for the lock ends with its context")

		go func() { round <- r.Resend(t.Context()) }()
		synctest.Wait()
		require.Equal(t, [][]string{{"1"}}, transports[0].taken())
		close(transports[1].gate)
		require.NoError(t, <-notified)
		require.NoError(t, <-round)
		rt := transports[1]
		rt.mu.Lock()
		defer rt.mu.Unlock()
		require.Len(t, rt.posts, 2, "the Notify's POST, then the round's")
	})
}
