package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/outagewatch/outagewatch/alerts"
)

// Bounds of what is kept of a response.
const (
	// maxResponse is what is read of a response body at most, to reuse the connection; the rest
	// is left unread and the connection closed.
	maxResponse = 64 << 10
	// maxSnippet is how many characters of the body an error quotes.
	maxSnippet = 256
	// maxRetryAfter caps the wait a Retry-After asks for, so that an endpoint's mistake cannot
	// hold the target's queue back for days.
	maxRetryAfter = time.Hour
)

// statusError is an answer of the endpoint that was not 2xx. HTTPStatusCode lets the
// dispatcher count 5xx as server errors.
type statusError struct {
	// Code is the HTTP status code.
	Code int
	// URL is the endpoint without credentials or query.
	URL string
	// Snippet is the start of the response body, in one line, with the secret and the bearer
	// token cut out.
	Snippet string
}

// Error is "webhook: POST URL: 500 Internal Server Error: snippet".
func (e *statusError) Error() string {
	msg := fmt.Sprintf("webhook: POST %s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
	if e.Snippet != "" {
		msg += ": " + e.Snippet
	}
	return msg
}

// HTTPStatusCode returns Code.
func (e *statusError) HTTPStatusCode() int { return e.Code }

// classify reads and closes resp and maps its status to the dispatcher's classes, following the
// specification's advice: 2xx succeeds; 429 waits for its Retry-After (or the backoff); 5xx and
// 408 are retried, after their Retry-After when they give one; 401 and 403 refuse the
// credentials and halt the target; 3xx (never followed), 410 and the other 4xx fail the
// notification for good.
func (nt *Notifier) classify(resp *http.Response) error {
	// A body that cannot be read is no reason to doubt the status.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := &statusError{Code: code, URL: nt.redacted, Snippet: nt.snippet(body)}
	after, ok := retryAfter(resp.Header.Get("Retry-After"), nt.now())
	switch {
	case code == http.StatusTooManyRequests:
		return alerts.RateLimited(err, after)
	case code >= 500 || code == http.StatusRequestTimeout:
		if ok {
			return alerts.RateLimited(err, after)
		}
		return err
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return alerts.Unauthorized(fmt.Errorf("%w: the endpoint refused the credentials; check the target's bearer_token_file, and that the endpoint verifies with the secret of its secret_file", err))
	case code == http.StatusGone:
		return alerts.Permanent(fmt.Errorf("%w: the endpoint no longer accepts webhooks; remove the target or set its URL", err))
	case code >= 300 && code < 400:
		return alerts.Permanent(fmt.Errorf("%w: redirects are not followed; set the target's URL to where it redirects", err))
	default:
		return alerts.Permanent(fmt.Errorf("%w: the endpoint refused the webhook", err))
	}
}

// networkError wraps an error of the client, which is retried; the URL it quotes loses its
// credentials and query.
func (nt *Notifier) networkError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		uerr.URL = nt.redacted
	}
	return fmt.Errorf("webhook: %w", err)
}

// snippet is the start of body in one line of printable text, with the secret and the bearer
// token cut out first (an endpoint may echo the request).
func (nt *Notifier) snippet(body []byte) string {
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	for _, secret := range [...]string{nt.bearer, nt.secret} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if utf8.RuneCountInString(s) > maxSnippet {
		s = string([]rune(s)[:maxSnippet-1]) + "…"
	}
	return s
}

// retryAfter parses a Retry-After header, seconds or an HTTP date, into a wait from now, capped
// at maxRetryAfter; ok is false when there is none or it cannot be parsed.
func retryAfter(h string, now time.Time) (wait time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		wait = time.Duration(min(max(secs, 0), int64(maxRetryAfter/time.Second))) * time.Second
		return wait, true
	}
	at, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return min(max(at.Sub(now), 0), maxRetryAfter), true
}
