package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// Active returns every open or acknowledged incident, oldest first.
func (s *Store) Active(ctx context.Context) ([]incidents.Incident, error) {
	out, err := queryIncidents(ctx, s.db, `SELECT `+incidentColumns+` FROM incidents
		WHERE state IN ('open', 'acknowledged') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("active incidents: %w", err)
	}
	return out, nil
}

// List returns the incidents matching f, newest (highest ID) first.
func (s *Store) List(ctx context.Context, f incidents.Filter) ([]incidents.Incident, error) {
	states, err := rules.States(f.State)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	var (
		where []string
		args  []any
	)
	if states != nil {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(states)-1)+")")
		for _, st := range states {
			args = append(args, st)
		}
	}
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Provider != "" {
		add("provider = ?", f.Provider)
	}
	if f.Caller != "" {
		add("caller = ?", f.Caller)
	}
	if !f.Since.IsZero() {
		add("opened_at >= ?", nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add("opened_at < ?", nanos(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, rules.Limit(f.Limit))
	out, err := queryIncidents(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

// Get returns incident id and its timeline, oldest event first, read in one transaction.
func (s *Store) Get(ctx context.Context, id int64) (incidents.Incident, []incidents.Event, error) {
	var (
		inc    incidents.Incident
		events []incidents.Event
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inc, err = scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return incidents.ErrNotFound
		}
		if err != nil {
			return err
		}
		events, err = queryEvents(ctx, tx, id)
		return err
	})
	if err != nil {
		return incidents.Incident{}, nil, fmt.Errorf("get incident %d: %w", id, err)
	}
	return inc, events, nil
}

// SetThread records the Slack thread root of incident id: its channel and message timestamp.
func (s *Store) SetThread(ctx context.Context, incidentID int64, channel, ts string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE incidents SET slack_channel = ?, slack_ts = ? WHERE id = ?`,
		channel, ts, incidentID)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = incidents.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("set thread of incident %d: %w", incidentID, err)
	}
	return nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryIncidents(ctx context.Context, q querier, query string, args ...any) ([]incidents.Incident, error) {
	return collect(ctx, q, scanIncident, query, args...)
}

func queryEvents(ctx context.Context, q querier, id int64) ([]incidents.Event, error) {
	return collect(ctx, q, scanEvent, `SELECT `+eventColumns+` FROM incident_events
		WHERE incident_id = ? ORDER BY id`, id)
}

// collect runs query and scans every row; it closes the rows before returning, which the one
// connection needs before it can serve anything else.
func collect[T any](ctx context.Context, q querier, scan func(row) (T, error), query string, args ...any) (out []T, err error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, rows.Close()) }()
	out = []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
