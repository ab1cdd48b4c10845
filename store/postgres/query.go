package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// Active returns every open or acknowledged incident, oldest first.
func (s *Store) Active(ctx context.Context) ([]incidents.Incident, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE state IN ('open', 'acknowledged') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("active incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanIncidentRow)
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
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if states != nil {
		add("state = ANY(?)", states)
	}
	if f.Provider != "" {
		add("provider = ?", f.Provider)
	}
	if f.Caller != "" {
		add("caller = ?", f.Caller)
	}
	if !f.Since.IsZero() {
		add("opened_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		add("opened_at < ?", f.Until)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, rules.Limit(f.Limit))
	q += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanIncidentRow)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

// Get returns incident id and its timeline, oldest event first, read in one snapshot.
func (s *Store) Get(ctx context.Context, id int64) (incidents.Incident, []incidents.Event, error) {
	var (
		inc    incidents.Incident
		events []incidents.Event
	)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var err error
			inc, err = scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id))
			if errors.Is(err, pgx.ErrNoRows) {
				return incidents.ErrNotFound
			}
			if err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM incident_events
				WHERE incident_id = $1 ORDER BY id`, id)
			if err != nil {
				return err
			}
			events, err = pgx.CollectRows(rows, scanEventRow)
			return err
		})
	if err != nil {
		return incidents.Incident{}, nil, fmt.Errorf("get incident %d: %w", id, err)
	}
	return inc, events, nil
}

// SetThread records the Slack thread root of incident id: its channel and message timestamp.
func (s *Store) SetThread(ctx context.Context, incidentID int64, channel, ts string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE incidents SET slack_channel = $2, slack_ts = $3 WHERE id = $1`,
			incidentID, channel, ts)
		if err == nil && tag.RowsAffected() == 0 {
			err = incidents.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set thread of incident %d: %w", incidentID, err)
	}
	return nil
}

func scanIncidentRow(row pgx.CollectableRow) (incidents.Incident, error) { return scanIncident(row) }

func scanEventRow(row pgx.CollectableRow) (incidents.Event, error) { return scanEvent(row) }

func scanOutboxRow(row pgx.CollectableRow) (incidents.OutboxRow, error) { return scanOutbox(row) }
