package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

// defaultResendInterval is Options.ResendInterval's default.
const defaultResendInterval = alerts.DefaultResendInterval

// Limits of a request.
const (
	// maxBatch bounds the alerts of one POST (Prometheus's notifier batches 256).
	maxBatch = 64
	// maxResponse bounds what is read of a response; the rest is dropped with the connection.
	maxResponse = 64 << 10
	// maxSnippet bounds the part of a refusal's body quoted in its error.
	maxSnippet = 512
	// defaultTimeout bounds a request when Options.Client is nil.
	defaultTimeout = 10 * time.Second
)

// Options configures a Notifier: one Alertmanager instance of a target (an HA pair is two
// Notifiers, one per URL, each with its own queue).
type Options struct {
	// URL is the instance's base URL (http://am:9093), with the path prefix of its
	// --web.route-prefix if any (http://proxy/alertmanager); alerts go to URL/api/v2/alerts.
	URL string
	// BearerToken, when set, is sent as "Authorization: Bearer" with every request. It never
	// appears in errors, logs or String.
	BearerToken string
	// RunbookURL is the runbook_url annotation; empty leaves it out.
	RunbookURL string
	// Links are the base URLs of the status_page_url, dashboard_url and incident_url
	// annotations and of generatorURL.
	Links alerts.Links
	// ResendInterval is how often the Resender posts the alerts of active incidents again;
	// their endsAt is 4 intervals ahead (Prometheus's rule). 0 is alerts.DefaultResendInterval.
	ResendInterval time.Duration
	// Client sends the requests; nil is a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// String shows the options without the bearer token.
func (o Options) String() string {
	token := ""
	if o.BearerToken != "" {
		token = "[redacted]"
	}
	return fmt.Sprintf("{URL:%s BearerToken:%s RunbookURL:%s ResendInterval:%s}", redactURL(o.URL), token, o.RunbookURL, o.ResendInterval)
}

// GoString keeps the bearer token out of %#v.
func (o Options) GoString() string { return "alertmanager.Options" + o.String() }

// Notifier posts incidents' alerts to one Alertmanager. It is safe for concurrent use.
type Notifier struct {
	opts     Options
	endpoint string // URL/api/v2/alerts
	client   *http.Client
	now      func() time.Time
	// sending is the lock (a one-slot semaphore) that orders what reaches this Alertmanager:
	// Notify holds it around its POST, a Resender's round from its read of the incidents to
	// its POST. Without it a resolve row posted between the round's read and its POST would be
	// overtaken by the round's firing alert of the incident (endsAt 4 intervals ahead), and
	// Alertmanager would fire the resolved alert again. A channel rather than a sync.Mutex so
	// that waiting for it ends with the caller's context.
	sending chan struct{}
}

var _ alerts.Notifier = (*Notifier)(nil)

// New returns a Notifier posting to o.URL. It validates o and starts nothing.
func New(o Options) (*Notifier, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: url %s: %w", redactURL(o.URL), err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alertmanager: url %s: must be an http or https base URL", redactURL(o.URL))
	}
	if o.ResendInterval < 0 {
		return nil, errors.New("alertmanager: resend interval must not be negative")
	}
	if o.ResendInterval == 0 {
		o.ResendInterval = defaultResendInterval
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v2/alerts"
	u.RawPath = ""
	n := &Notifier{opts: o, endpoint: u.String(), client: o.Client, now: o.Now, sending: make(chan struct{}, 1)}
	if n.client == nil {
		n.client = &http.Client{Timeout: defaultTimeout}
	}
	if n.now == nil {
		n.now = time.Now
	}
	return n, nil
}

// URL is the Alertmanager's base URL, without credentials.
func (n *Notifier) URL() string { return redactURL(n.opts.URL) }

// Notify posts the incident's alerts as they are now (Alerts) for rows of kind open, event and
// resolve; update rows, which refresh a Slack thread root, are skipped (alerts.SkipUnsupported).
// Posting the same alerts twice is harmless, so a redelivered row is simply posted again. It
// waits for a Resender's round to this Alertmanager to finish its POST first (and returns ctx's
// error, retryable, if ctx ends meanwhile), so that a resolution is never overtaken by a round
// that read the incident while it was still active.
func (n *Notifier) Notify(ctx context.Context, nt alerts.Notification) (alerts.Receipt, error) {
	switch nt.Row.Kind {
	case incidents.NotifyOpen, incidents.NotifyEvent, incidents.NotifyResolve:
	default:
		return alerts.Receipt{Skipped: alerts.SkipUnsupported}, nil
	}
	eventID := nt.Event.ID
	if eventID == 0 {
		eventID = nt.Row.EventID
	}
	if err := n.lock(ctx); err != nil {
		return alerts.Receipt{}, fmt.Errorf("alertmanager %s: %w", n.URL(), err)
	}
	defer n.unlock()
	return alerts.Receipt{}, n.Post(ctx, Alerts(nt.Incident, nt.Timeline, eventID, n.opts, n.now()))
}

// lock takes n.sending, or returns ctx's error.
func (n *Notifier) lock(ctx context.Context) error {
	select {
	case n.sending <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Notifier) unlock() { <-n.sending }

// Post sends alerts to the Alertmanager, in batches of at most 64. Errors are classified for
// the dispatcher: a 429 is alerts.RateLimited (with its Retry-After), a 401 or 403
// alerts.Unauthorized, a 400 or another 4xx alerts.Permanent with the start of the body; 5xx
// and network errors are retryable, the status readable through HTTPStatusCode. Post takes no
// lock: it is not ordered against Notify and the Resender.
func (n *Notifier) Post(ctx context.Context, as []Alert) error {
	for len(as) > 0 {
		batch := as[:min(len(as), maxBatch)]
		as = as[len(batch):]
		if err := n.post(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

func (n *Notifier) post(ctx context.Context, batch []Alert) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return alerts.Permanent(fmt.Errorf("encode alerts: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.endpoint, bytes.NewReader(body))
	if err != nil {
		return alerts.Permanent(fmt.Errorf("alertmanager %s: %w", n.URL(), err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "outagewatch")
	if n.opts.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+n.opts.BearerToken)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager %s: %w", n.URL(), err) // retryable: network, timeout
	}
	defer resp.Body.Close()
	// Read a bounded amount, so that the connection can be reused without trusting the peer.
	got, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return classify(n.URL(), resp, got)
}

// StatusError is a non-2xx answer of Alertmanager.
type StatusError struct {
	URL    string // the base URL, without credentials
	Status int
	// Body is the start of the response body (at most 512 bytes).
	Body string
}

// Error shows the base URL, the status and the start of the body.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("alertmanager %s: %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// HTTPStatusCode is the response's status, for the dispatcher's error metrics.
func (e *StatusError) HTTPStatusCode() int { return e.Status }

// classify maps a refusal to the dispatcher's classes.
func classify(base string, resp *http.Response, body []byte) error {
	err := &StatusError{URL: base, Status: resp.StatusCode, Body: snippet(body)}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		return alerts.RateLimited(err, retryAfter(resp.Header.Get("Retry-After")))
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return alerts.Unauthorized(err)
	case code >= 500:
		return err
	default: // 400 (an alert Alertmanager refuses), other 4xx, an unfollowed 3xx: a configuration error
		return alerts.Permanent(err)
	}
}

// snippet is the start of a body as one line of valid text.
func snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b[:min(len(b), maxSnippet)]), "")
	return strings.Join(strings.Fields(s), " ")
}

// retryAfter reads a Retry-After of seconds or an HTTP date; 0 when absent or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// redactURL drops the credentials and query of a URL, for errors and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable url]"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
