package client

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hangGuard bounds waits for what must happen: it catches a hang, it is not a speed bound
// (speeds are the benchmarks').
const hangGuard = time.Minute

// testOptions are fast options for tests: short long-polls and short backoffs.
func testOptions() Options {
	return Options{Wait: 2 * time.Second, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

// startClient runs a client of f until the test ends and waits for its first answer.
func startClient(tb testing.TB, f *fakeServer, opts Options) *Client {
	tb.Helper()
	c, err := New(f.srv.URL, opts)
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(tb, err)
		case <-time.After(hangGuard):
			tb.Error("run did not return after cancel")
		}
	})
	select {
	case <-c.Ready():
	case <-time.After(hangGuard):
		tb.Fatal("no first answer")
	}
	return c
}

func TestClientInitialFetch(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.set("anthropic", "claude-sonnet-4-5", Healthy)
	f.set("openai", "gpt-4o", Degraded)
	c, err := New(f.srv.URL, testOptions())
	require.NoError(t, err)
	require.True(t, c.Usable("anthropic", "claude-sonnet-4-5"), "unknown before the first answer: fail open")
	require.Equal(t, uint64(0), c.Version())
	require.Positive(t, c.Staleness(), "no answer yet")

	c = startClient(t, f, testOptions())
	require.Equal(t, uint64(2), c.Version())
	require.True(t, c.Usable("anthropic", "claude-sonnet-4-5"))
	require.True(t, c.Usable("openai", "gpt-4o"))
	state, ok := c.State("openai", "gpt-4o")
	require.True(t, ok)
	require.Equal(t, Degraded, state)
	state, ok = c.State("anthropic", "")
	require.True(t, ok)
	require.Equal(t, Healthy, state)
	require.Zero(t, c.Staleness())
}

// TestClientLongPollDeliversChange: a change reaches the client through the long-poll in
// flight, which the server answers because of it (how fast is BenchmarkLongPollDelivery's).
func TestClientLongPollDeliversChange(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.set("anthropic", "claude-sonnet-4-5", Healthy)
	c := startClient(t, f, Options{Wait: 5 * time.Minute}) // default backoff; no failure expected
	require.Eventually(t, func() bool { return f.waiting.Load() == 1 }, hangGuard, time.Millisecond, "long-poll waiting")

	f.set("anthropic", "claude-sonnet-4-5", Down)
	require.Eventually(t, func() bool { return !c.Usable("anthropic", "claude-sonnet-4-5") }, hangGuard, time.Millisecond)
	require.Equal(t, int64(1), f.woken.Load(), "the waiting long-poll was answered by the change")
	require.Equal(t, uint64(2), c.Version())
	state, _ := c.State("anthropic", "claude-sonnet-4-5")
	require.Equal(t, Down, state)
	require.Equal(t, int64(1), f.requests.Load()-f.polls.Load(), "one full fetch, then long-polls only")
	require.Zero(t, c.Staleness())
}

func TestClientKeepsLastAnswerWhileAwayAndRecovers(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.set("anthropic", "claude-sonnet-4-5", Down)
	f.set("openai", "gpt-4o", Healthy)
	c := startClient(t, f, testOptions())
	require.Eventually(t, func() bool { return f.polls.Load() >= 1 }, hangGuard, time.Millisecond)

	f.goAway()
	require.Eventually(t, func() bool { return c.Staleness() > 0 }, hangGuard, time.Millisecond)
	first := c.Staleness()
	require.Eventually(t, func() bool { return c.Staleness() > first+50*time.Millisecond }, hangGuard, 5*time.Millisecond,
		"staleness grows while the server is away")
	require.False(t, c.Usable("anthropic", "claude-sonnet-4-5"), "the last answer holds")
	require.True(t, c.Usable("openai", "gpt-4o"))
	require.Equal(t, uint64(2), c.Version())
	seen := f.requests.Load()
	require.Eventually(t, func() bool { return f.requests.Load() > seen+2 }, hangGuard, time.Millisecond, "it retries")

	// The daemon comes back restarted, at a lower version, with the primary recovered.
	f.restart()
	f.set("anthropic", "claude-sonnet-4-5", Healthy)
	f.comeBack()
	require.Eventually(t, func() bool { return c.Usable("anthropic", "claude-sonnet-4-5") }, hangGuard, time.Millisecond)
	require.Equal(t, uint64(1), c.Version(), "a restarted daemon's version is taken as is")
	require.Eventually(t, func() bool { return c.Staleness() == 0 }, hangGuard, time.Millisecond)
	state, ok := c.State("openai", "gpt-4o")
	require.False(t, ok, "the restarted daemon has not seen openai yet")
	require.Equal(t, Unknown, state)

	// And long-polls again: a change arrives at once.
	require.Eventually(t, func() bool { return f.polls.Load() > 0 && c.Staleness() == 0 }, hangGuard, time.Millisecond)
	f.set("anthropic", "claude-sonnet-4-5", Down)
	require.Eventually(t, func() bool { return !c.Usable("anthropic", "claude-sonnet-4-5") }, hangGuard, time.Millisecond)
}

// TestClientAcrossDaemonShutdown: when outagewatch begins to shut down, its long-polls answer at
// once with the version the client holds (docs/health-api.md, "Shutdown"). The client keeps its
// answer, stays fresh, and polls again on a new connection; once the daemon is gone, it answers
// from the last answer and calls it stale.
func TestClientAcrossDaemonShutdown(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.set("anthropic", "claude-sonnet-4-5", Down)
	c := startClient(t, f, Options{Wait: 5 * time.Minute})
	require.Eventually(t, func() bool { return f.waiting.Load() == 1 }, hangGuard, time.Millisecond, "long-poll waiting")
	conns, polls := f.conns.Load(), f.polls.Load()

	f.shutdown()
	require.Eventually(t, func() bool { return f.polls.Load() > polls }, hangGuard, time.Millisecond, "it polls again")
	require.Greater(t, f.conns.Load(), conns, "on a new connection (Connection: close)")
	require.False(t, c.Usable("anthropic", "claude-sonnet-4-5"), "the answer holds")
	require.Equal(t, uint64(1), c.Version())
	require.Zero(t, c.Staleness(), "the daemon still answers: fresh")
	require.Equal(t, int64(1), f.requests.Load()-f.polls.Load(), "no fetch from scratch: nothing failed")

	f.goAway()
	require.Eventually(t, func() bool { return c.Staleness() > 0 }, hangGuard, time.Millisecond)
	require.False(t, c.Usable("anthropic", "claude-sonnet-4-5"), "the last answer holds once the daemon is gone")
	require.Equal(t, uint64(1), c.Version())
}

func TestClientOptionsThroughServer(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.set("anthropic", "claude-sonnet-4-5", Degraded)
	f.set("anthropic", "claude-haiku-4-5", Unknown)
	f.set("openai", "gpt-4o", Healthy)
	tests := []struct {
		name                      string
		failDegraded, failUnknown bool
		degraded, unknown, unseen bool // the usability of each
	}{
		{name: "defaults", degraded: true, unknown: true, unseen: true},
		{name: "fail_degraded", failDegraded: true, degraded: false, unknown: true, unseen: true},
		{name: "fail_unknown", failUnknown: true, degraded: true, unknown: false, unseen: false},
		{name: "both", failDegraded: true, failUnknown: true, degraded: false, unknown: false, unseen: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := testOptions()
			opts.FailDegraded, opts.FailUnknown = tt.failDegraded, tt.failUnknown
			c := startClient(t, f, opts)
			require.Equal(t, tt.degraded, c.Usable("anthropic", "claude-sonnet-4-5"))
			require.Equal(t, tt.unknown, c.Usable("anthropic", "claude-haiku-4-5"))
			require.Equal(t, tt.unseen, c.Usable("mistral_ai", "mistral-large"))
			require.Equal(t, tt.unseen, c.Usable("openai", "gpt-5"))
			require.True(t, c.Usable("openai", "gpt-4o"))
		})
	}
}

func TestClientModelNamesWithSlashes(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.set("gcp.gemini", "models/gemini-2.5-flash", Down)
	f.set("gcp.gemini", "models/gemini-2.5-pro", Healthy)
	f.set("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", Down)
	f.set("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", Healthy)
	c := startClient(t, f, testOptions())
	require.False(t, c.Usable("gcp.gemini", "models/gemini-2.5-flash"))
	require.True(t, c.Usable("gcp.gemini", "models/gemini-2.5-pro"))
	require.True(t, c.Usable("gcp.gemini", "models"), "a prefix of a name is another series")
	require.False(t, c.Usable("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0"))
	require.True(t, c.Usable("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"))
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		opts      Options
		want      string
	}{
		{name: "no scheme", url: "127.0.0.1:9317", want: "base url"},
		{name: "other scheme", url: "ftp://127.0.0.1:9317", want: "want http://"},
		{name: "no host", url: "http:///v1", want: "want http://"},
		{name: "negative wait", url: "http://h:1", opts: Options{Wait: -time.Second}, want: "wait:"},
		{name: "wait too long", url: "http://h:1", opts: Options{Wait: 6 * time.Minute}, want: "wait:"},
		{name: "max below min", url: "http://h:1", opts: Options{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, want: "max_backoff:"},
		{name: "negative min", url: "http://h:1", opts: Options{MinBackoff: -1}, want: "min_backoff:"},
		{name: "client timeout too short", url: "http://h:1", opts: Options{HTTPClient: &http.Client{Timeout: 30 * time.Second}}, want: "http_client:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.url, tt.opts)
			require.ErrorContains(t, err, tt.want)
		})
	}
	c, err := New("http://127.0.0.1:9317/outagewatch/", Options{HTTPClient: &http.Client{Timeout: time.Minute}})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:9317/outagewatch/v1/health", c.healthURL)
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	c := startClient(t, f, testOptions())
	require.ErrorContains(t, c.Run(context.Background()), "running")
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	c, err := New("http://127.0.0.1:1", Options{})
	require.NoError(t, err)
	for n := 1; n < 100; n++ {
		want := min(DefaultMinBackoff<<min(n-1, 10), DefaultMaxBackoff)
		for range 20 {
			d := c.backoff(n)
			require.GreaterOrEqual(t, d, want/2, "failure %d", n)
			require.LessOrEqual(t, d, want, "failure %d", n)
		}
	}
}
