package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/alerts"
)

// Options configure a Notifier.
type Options struct {
	// URL is the endpoint the webhooks are POSTed to, http or https.
	URL string
	// Secret is the signing secret, whsec_ and base64 (the content of the target's
	// secret_file); see ParseSecret.
	Secret string
	// BearerToken, when set, is sent as "Authorization: Bearer" (the content of the target's
	// bearer_token_file); surrounding white space is ignored.
	BearerToken string
	// RunbookURL is linked from every body (links.runbook).
	RunbookURL string
	// Links are the base URLs of the API, status page and Grafana that bodies link to.
	Links alerts.Links
	// Client sends the requests; nil is a client with the proxy of the environment, 10 s to
	// connect and 30 s per request. Redirects are never followed, whatever the client's
	// policy: a 3xx fails the notification.
	Client *http.Client
	// Now gives the time of each attempt (webhook-timestamp); nil is time.Now.
	Now func() time.Time
}

// Notifier sends the notifications of one webhook target. It is safe for concurrent use.
type Notifier struct {
	url        string
	redacted   string // url without credentials or query, for errors
	key        []byte
	secret     string // the key in base64, to cut out of response snippets
	bearer     string
	runbookURL string
	base       alerts.Links
	client     *http.Client
	now        func() time.Time
}

var _ alerts.Notifier = (*Notifier)(nil)

// userAgent names the sender and the body's schema version.
const userAgent = "outagewatch-webhook/1"

// New returns a Notifier for the options. It fails on a URL that is not http(s), a secret that
// is not whsec_ and the base64 of 24 to 64 bytes, and a bearer token that cannot be a header
// value. It starts nothing.
func New(o Options) (*Notifier, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook: the URL must be an absolute http(s) URL")
	}
	key, err := ParseSecret(o.Secret)
	if err != nil {
		return nil, err
	}
	bearer := strings.TrimSpace(o.BearerToken)
	if strings.ContainsFunc(bearer, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errors.New("webhook: the bearer token holds control characters")
	}
	client := o.Client
	if client == nil {
		client = defaultClient()
	}
	// A copy, so that the caller's client keeps its own policy.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	nt := &Notifier{
		url: o.URL, redacted: redact(u), key: key, bearer: bearer,
		secret: strings.TrimPrefix(strings.TrimSpace(o.Secret), secretPrefix), runbookURL: o.RunbookURL,
		base: o.Links, client: &c, now: o.Now,
	}
	if nt.now == nil {
		nt.now = time.Now
	}
	return nt, nil
}

// defaultClient returns the client a Notifier uses when Options.Client is nil: the proxy of the
// environment, 10 s to connect and for the TLS handshake, 30 s in all per request (the
// specification recommends 15 to 30 s; the dispatcher's send_timeout may cut it shorter).
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// redact is u without user information, query or fragment.
func redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// Notify sends notification n as one signed POST. Update rows, and event rows of a resolution
// (the resolve row carries it), are skipped with alerts.SkipUnsupported. A redelivery is sent
// again with the same webhook-id: a webhook cannot be read back, the receiver deduplicates.
func (nt *Notifier) Notify(ctx context.Context, n alerts.Notification) (alerts.Receipt, error) {
	typ := eventType(n)
	if typ == "" {
		return alerts.Receipt{Skipped: alerts.SkipUnsupported}, nil
	}
	if n.Row.DedupKey == "" {
		return alerts.Receipt{}, alerts.Permanent(fmt.Errorf("webhook: outbox row %d has no dedup key to derive the webhook-id from", n.Row.ID))
	}
	body, err := json.Marshal(nt.payload(typ, n))
	if err != nil {
		return alerts.Receipt{}, alerts.Permanent(fmt.Errorf("webhook: encode %s of incident %d: %w", typ, n.Incident.ID, err))
	}
	return alerts.Receipt{}, nt.post(ctx, messageID(n.Row.DedupKey), body)
}

// post signs body as message id at this attempt's time and POSTs it.
func (nt *Notifier) post(ctx context.Context, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, nt.url, bytes.NewReader(body))
	if err != nil {
		return alerts.Permanent(fmt.Errorf("webhook: POST %s: %w", nt.redacted, err))
	}
	ts := nt.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sign(nt.key, id, ts, body))
	if nt.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+nt.bearer)
	}
	resp, err := nt.client.Do(req)
	if err != nil {
		return nt.networkError(err)
	}
	return nt.classify(resp)
}
