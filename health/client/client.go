package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultWait       = 30 * time.Second
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

const (
	// maxWait is the longest long-poll the server grants (docs/health-api.md).
	maxWait = 5 * time.Minute
	// grace is how late an answer may come after its wait before the request is abandoned and
	// the answer held is called stale: it covers the server's own slack and a slow network.
	grace = 10 * time.Second
	// fetchTimeout bounds a request that does not long-poll.
	fetchTimeout = grace
	// pollFloor spaces long-polls that a server answered early with no change (one that
	// ignores wait), so that the client cannot spin.
	pollFloor = time.Second
	// maxBody bounds an answer: 32 providers × 64 models with their reasons fit many times.
	maxBody = 16 << 20
)

// Log attribute keys.
const (
	keyErr      = "err"
	keyURL      = "url"
	keyFailures = "failures"
	keyRetryIn  = "retry_in"
	keyStaleFor = "stale_for"
	keyVersion  = "version"
)

// Options configure a Client. The zero value is valid: every zero field takes its default.
type Options struct {
	// HTTPClient makes the requests; a client with the default transport when nil. Its Timeout,
	// when set, must exceed Wait plus 10 s, or every long-poll would time out.
	HTTPClient *http.Client
	// Wait is how long a long-poll waits for a change before the server answers anyway;
	// DefaultWait (30 s) when zero, at most 5 minutes.
	Wait time.Duration
	// FailDegraded makes degraded series unusable; FailUnknown makes unknown and never-seen
	// series unusable (fail closed instead of open). Down is always unusable.
	FailDegraded, FailUnknown bool
	// Logger receives failures (the first of a run at Warn, the rest at Debug) and recoveries;
	// nothing is logged when nil.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the exponential, jittered pause after a failed request;
	// DefaultMinBackoff (100 ms) and DefaultMaxBackoff (5 s) when zero.
	MinBackoff, MaxBackoff time.Duration
	// Service, or Endpoint, asks for the answers as that caller sees them (?service=,
	// ?endpoint=; docs/health-api.md): a model whose failures are this service's alone is
	// unusable for it and usable for every other service's router. At most one of the two.
	Service, Endpoint string
}

// withDefaults fills the zero fields and validates the rest.
func (o Options) withDefaults() (Options, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Wait == 0 {
		o.Wait = DefaultWait
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if o.Wait < 0 || o.Wait > maxWait {
		errs = append(errs, fmt.Errorf("wait: %s is not between 0 and %s", o.Wait, maxWait))
	}
	if o.MinBackoff < 0 {
		errs = append(errs, fmt.Errorf("min_backoff: %s must be > 0", o.MinBackoff))
	}
	if o.MaxBackoff < o.MinBackoff {
		errs = append(errs, fmt.Errorf("max_backoff: %s must be at least min_backoff %s", o.MaxBackoff, o.MinBackoff))
	}
	if o.Service != "" && o.Endpoint != "" {
		errs = append(errs, errors.New("service and endpoint: give at most one"))
	}
	if t := o.HTTPClient.Timeout; t != 0 && t <= o.Wait+grace {
		errs = append(errs, fmt.Errorf("http_client: timeout %s must exceed wait %s plus %s", t, o.Wait, grace))
	}
	return o, errors.Join(errs...)
}

// Client follows outagewatch's health answers and answers Usable from memory. Usable, State,
// Version, Staleness and Ready are safe for concurrent use, also while Run runs.
type Client struct {
	healthURL string // base URL + /v1/health
	opts      Options
	policy    policy
	created   time.Time

	// snap is the last answer; it is replaced, never modified, so the hot path is one atomic
	// load and a map lookup.
	snap atomic.Pointer[snapshot]
	// lastOK is when the last successful answer came, in monotonic nanoseconds since created
	// (-1 before any), and fresh is true while no request has failed since.
	lastOK atomic.Int64
	fresh  atomic.Bool

	ready     chan struct{}
	readyOnce sync.Once
	running   atomic.Bool
}

// New returns a client of the outagewatch API at baseURL (like http://127.0.0.1:9317). It
// starts nothing: call Run. Until the first answer, every series is unknown.
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("base url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base url %q: want http://host:port or https://host:port", baseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	u = u.JoinPath("v1", "health")
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("client options: %w", err)
	}
	c := &Client{
		healthURL: u.String(),
		opts:      opts,
		policy:    policy{failDegraded: opts.FailDegraded, failUnknown: opts.FailUnknown},
		created:   time.Now(),
		ready:     make(chan struct{}),
	}
	c.snap.Store(newSnapshot(&report{}, c.policy))
	c.lastOK.Store(-1)
	return c, nil
}

// Usable reports whether a router may send to provider's model (model "" asks about the
// provider itself). It answers from memory, without I/O or locks. A series that is not down is
// usable, unless Options.FailDegraded or FailUnknown say otherwise; a series the last answer
// does not list is unknown (usable unless FailUnknown), except a model of a degraded or down
// provider, which takes its provider's state.
func (c *Client) Usable(provider, model string) bool {
	return c.snap.Load().lookup(provider, model).usable
}

// State returns the effective state of a series (healthy, degraded, down or unknown) and
// whether the last answer lists the series itself. A model the answer does not list is unknown,
// or its provider's state when that is degraded or down (with ok false).
func (c *Client) State(provider, model string) (state string, ok bool) {
	v := c.snap.Load().lookup(provider, model)
	return v.state, v.known
}

// Version returns the version of the last answer (0 before the first).
func (c *Client) Version() uint64 { return c.snap.Load().version }

// Staleness is how old the answer held is: 0 while the client is connected and long-polling
// (no request failed since the last answer, and that answer is no older than a long-poll can
// take), else the time since the last successful answer; before the first, the time since New.
func (c *Client) Staleness() time.Duration {
	now := time.Since(c.created)
	last := c.lastOK.Load()
	if last < 0 {
		return now
	}
	age := now - time.Duration(last)
	if c.fresh.Load() && age <= c.opts.Wait+grace {
		return 0
	}
	return age
}

// Ready returns a channel that is closed after the first successful answer.
func (c *Client) Ready() <-chan struct{} { return c.ready }

// Run fetches GET /v1/health, then long-polls it for changes until ctx ends. On a failure it
// keeps the last answer, backs off (exponentially, with jitter), and fetches the whole answer
// again. It returns nil when ctx ends, and an error only if Run is already running.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("client: run called while running")
	}
	defer c.running.Store(false)
	var (
		after    uint64
		polling  bool // the last request succeeded: long-poll from its version
		failures int
		failedAt time.Time
	)
	for ctx.Err() == nil {
		start := time.Now()
		rep, err := c.fetch(ctx, polling, after)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.fresh.Store(false)
			if failures == 0 {
				failedAt = start
			}
			failures++
			d := c.backoff(failures)
			c.logFailure(err, failures, d)
			// The daemon may have restarted with a lower version: start again from a full answer.
			polling = false
			if !sleep(ctx, d) {
				return nil
			}
			continue
		}
		if failures > 0 {
			c.opts.Logger.Info("health answers resumed", keyURL, c.healthURL, keyFailures, failures,
				keyStaleFor, time.Since(failedAt).Round(time.Millisecond), keyVersion, rep.Version)
			failures = 0
		}
		c.accept(rep)
		early := polling && rep.Version == after && time.Since(start) < c.opts.Wait/2
		polling, after = true, rep.Version
		if early && !sleep(ctx, pollFloor) {
			return nil
		}
	}
	return nil
}

// accept makes rep the answer held. Every answer replaces the last, even one with a lower
// version: that is a restarted daemon, whose answer is the current one.
func (c *Client) accept(rep *report) {
	c.snap.Store(newSnapshot(rep, c.policy))
	c.lastOK.Store(int64(time.Since(c.created)))
	c.fresh.Store(true)
	c.readyOnce.Do(func() { close(c.ready) })
}

// fetch makes one request: a long-poll from version after when poll is true, else a plain GET.
func (c *Client) fetch(ctx context.Context, poll bool, after uint64) (*report, error) {
	target, timeout := c.healthURL, fetchTimeout
	q := url.Values{}
	if poll {
		q.Set("wait", c.opts.Wait.String())
		q.Set("after", strconv.FormatUint(after, 10))
		timeout = c.opts.Wait + grace
	}
	switch {
	case c.opts.Service != "":
		q.Set("service", c.opts.Service)
	case c.opts.Endpoint != "":
		q.Set("endpoint", c.opts.Endpoint)
	}
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err // *url.Error names the method and URL
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, fmt.Errorf("get %s: status %d: %s", target, resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	var rep report
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&rep); err != nil {
		return nil, fmt.Errorf("decode %s: %w", target, err)
	}
	return &rep, nil
}

// backoff is the pause after the n-th consecutive failure: MinBackoff·2^(n−1) capped at
// MaxBackoff, then jittered to between half and all of it so that routers restarted together
// do not retry in step.
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.MinBackoff
	for i := 1; i < n && d < c.opts.MaxBackoff; i++ {
		d *= 2 // stops at the cap, long before it could overflow
	}
	d = min(d, c.opts.MaxBackoff)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// logFailure logs the first failure of a run at Warn and the rest at Debug: a daemon that is
// away must not flood the router's log.
func (c *Client) logFailure(err error, failures int, retryIn time.Duration) {
	level := slog.LevelDebug
	if failures == 1 {
		level = slog.LevelWarn
	}
	c.opts.Logger.Log(context.Background(), level, "health poll failed", keyURL, c.healthURL,
		keyErr, err, keyFailures, failures, keyRetryIn, retryIn.Round(time.Millisecond))
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
