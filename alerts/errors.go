package alerts

import (
	"errors"
	"time"
)

// permanentError marks an error that retrying cannot cure.
type permanentError struct {
	err error
	// all says that no notification can succeed (the credentials were refused), not only this
	// one.
	all bool
}

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: sending this notification again cannot succeed (an unknown
// channel, a message Slack refuses). The dispatcher fails the notification without retrying it
// and reports err on /readyz until a later send to the same channel succeeds. Permanent(nil) is
// nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// Unauthorized marks err as permanent for every notification: the credentials were refused (a
// wrong or revoked token, a deleted webhook). The dispatcher fails the notification and stops
// sending until it is restarted with a fix, so that a bad token makes one request, not a storm.
// Unauthorized(nil) is nil.
func Unauthorized(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err, all: true}
}

// IsPermanent reports whether err, or an error it wraps, was marked by Permanent or
// Unauthorized.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// IsUnauthorized reports whether err, or an error it wraps, was marked by Unauthorized.
func IsUnauthorized(err error) bool {
	var p *permanentError
	return errors.As(err, &p) && p.all
}

// rateLimitedError carries the wait that the receiver asked for.
type rateLimitedError struct {
	err   error
	after time.Duration
}

func (e *rateLimitedError) Error() string { return e.err.Error() }
func (e *rateLimitedError) Unwrap() error { return e.err }

// RateLimited marks err as a rate limit: retry after after (Slack's Retry-After), or after the
// usual backoff when after is 0. The dispatcher also holds back its other sends until then, since
// Slack's limits are per workspace. RateLimited(nil, d) is nil.
func RateLimited(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &rateLimitedError{err: err, after: max(after, 0)}
}

// RetryAfter returns the wait carried by a RateLimited error in err's chain, and whether there
// is one.
func RetryAfter(err error) (time.Duration, bool) {
	var r *rateLimitedError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}
