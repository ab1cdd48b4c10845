package alerts

import (
	"context"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// Outbox hands out the notifications to deliver. store/postgres and store/sqlite implement it.
// Implementations are safe for concurrent use, also by several processes sharing a database.
type Outbox interface {
	// Claim leases up to limit due rows to the caller until now+lease, in ID order, only the
	// oldest pending row of each incident (so an incident's messages go out in order), and
	// counts the claim in each row's Claims. Concurrent claimers get different rows. The rows
	// belong to the caller. Errors are retryable.
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error)
	// Backlog returns the number of rows created at or before now that are neither delivered
	// nor failed for good, and the creation time of the oldest (zero when none).
	Backlog(ctx context.Context, now time.Time) (n int, oldest time.Time, err error)
}

// Settler records the outcome of a claimed row; each call releases the lease. Implementations
// are safe for concurrent use. Errors are retryable; incidents.ErrNotFound means the row is gone.
type Settler interface {
	// Complete marks row id delivered at at; completing it again keeps the first time.
	Complete(ctx context.Context, id int64, at time.Time) error
	// Retry records a failed attempt with its error message and makes the row due again at
	// next. A delivered row is left alone.
	Retry(ctx context.Context, id int64, next time.Time, msg string) error
	// Fail records a failed attempt and gives the row up for good; the incident's later rows
	// become due.
	Fail(ctx context.Context, id int64, msg string) error
}

// Reader reads the incident a notification is about, and records its Slack thread. The stores
// implement it; it is safe for concurrent use and its errors are retryable unless
// errors.Is(err, incidents.ErrNotFound).
type Reader interface {
	// Get returns incident id and its timeline, oldest event first; the caller owns them.
	Get(ctx context.Context, id int64) (incidents.Incident, []incidents.Event, error)
	// SetThread records the Slack thread root of incident id: channel ID and message ts.
	SetThread(ctx context.Context, incidentID int64, channel, ts string) error
}
