package dashboards_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/store/postgres"
)

// timeFilter matches Grafana's $__timeFilter(column) macro.
var timeFilter = regexp.MustCompile(`\$__timeFilter\(([^)]+)\)`)

// expandGrafanaSQL does what Grafana's Postgres datasource does to a query before it runs it:
// the time range macros become timestamp literals, and the provider variable its value.
func expandGrafanaSQL(sql string, from, to time.Time, provider string) string {
	lit := func(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339) + "'" }
	sql = timeFilter.ReplaceAllString(sql, "$1 BETWEEN "+lit(from)+" AND "+lit(to))
	return strings.NewReplacer(
		"$__timeFrom()", lit(from),
		"$__timeTo()", lit(to),
		"${provider:sqlstring}", "'"+strings.ReplaceAll(provider, "'", "''")+"'",
		"${provider}", provider,
		"$provider", provider,
	).Replace(sql)
}

// seedIncidents writes, through the store's Apply, a resolved openai incident and an open,
// acknowledged anthropic one with a timeline, both within the last three hours.
func seedIncidents(t *testing.T, s *postgres.Store, now time.Time) {
	t.Helper()
	evidence := incidents.Evidence{
		Detector: "error_rate_down", Observed: 1, Baseline: 0.02, Threshold: 14.9, Window: 60,
		SampleSize: 240, Events: 240, CallRate: 4, Classes: map[string]int{"overloaded": 240},
		SampleError: "Error code: 529 - overloaded_error",
	}
	transition := func(kind incidents.EventKind, provider, model, from, to string, at time.Time, notify ...string) incidents.EventSpec {
		return incidents.EventSpec{Event: incidents.Event{
			At: at, Kind: kind, Provider: provider, Model: model, From: from, To: to,
			Severity: incidents.SeverityCritical, Evidence: evidence, Actor: incidents.Actor,
		}, Notify: notify}
	}
	apply := func(c incidents.Change) incidents.Incident {
		inc, err := s.Apply(t.Context(), c)
		require.NoError(t, err)
		return inc
	}

	opened := now.Add(-2 * time.Hour)
	resolved := apply(incidents.Change{
		Provider: "openai", At: opened, Models: []string{"", "gpt-4o"}, Detectors: []string{"error_rate_down"},
		Severity: incidents.SeverityCritical, State: incidents.StateOpen, Peak: incidents.Peak{ErrorRate: 1, CallRate: 4},
		Events: []incidents.EventSpec{transition(incidents.EventOpened, "openai", "gpt-4o", "healthy", "down", opened, incidents.NotifyOpen)},
	})
	apply(incidents.Change{
		IncidentID: resolved.ID, At: opened.Add(25 * time.Minute), State: incidents.StateResolved,
		Events: []incidents.EventSpec{transition(incidents.EventResolved, "openai", "", "", "", opened.Add(25*time.Minute), incidents.NotifyResolve)},
	})

	opened = now.Add(-20 * time.Minute)
	open := apply(incidents.Change{
		Provider: "anthropic", At: opened, Models: []string{"", "claude-sonnet-4-5"}, Detectors: []string{"error_rate_down"},
		Severity: incidents.SeverityCritical, State: incidents.StateOpen, Peak: incidents.Peak{ErrorRate: 1, TruncationRate: 0.02, CallRate: 12},
		Events: []incidents.EventSpec{
			transition(incidents.EventOpened, "anthropic", "claude-sonnet-4-5", "healthy", "down", opened, incidents.NotifyOpen),
			transition(incidents.EventTransition, "anthropic", "", "healthy", "degraded", opened, incidents.NotifyEvent),
		},
	})
	apply(incidents.Change{
		IncidentID: open.ID, At: now.Add(-10 * time.Minute), State: incidents.StateAcknowledged, Actor: "ana",
		Events: []incidents.EventSpec{{Event: incidents.Event{At: now.Add(-10 * time.Minute), Kind: incidents.EventAcknowledged,
			Provider: "anthropic", Actor: "ana"}, Notify: []string{incidents.NotifyUpdate}}},
	})
}

// queryAsGrafana runs sql in a transaction that it rolls back, as a role that has only what
// dashboards/README.md grants Grafana (SELECT on incidents and incident_events), and returns
// the column names and the number of rows.
func queryAsGrafana(ctx context.Context, conn *pgx.Conn, sql string) (columns []string, rows int, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // the role goes with it
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "grafana_reader_" + hex.EncodeToString(b)
	for _, stmt := range []string{
		"CREATE ROLE " + role + " NOLOGIN",
		"GRANT SELECT ON incidents, incident_events TO " + role,
		"SET LOCAL ROLE " + role,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	r, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	for _, f := range r.FieldDescriptions() {
		columns = append(columns, f.Name)
	}
	for r.Next() {
		rows++
	}
	return columns, rows, r.Err()
}

// TestPostgresPanelsRunAgainstSchema runs every SQL query of the dashboards' Postgres panels and
// annotations, its macros expanded as Grafana does, against a database migrated by the store
// with incidents written through its Apply: each must run with Grafana's grants and return rows.
func TestPostgresPanelsRunAgainstSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	s, err := postgres.Open(ctx, dsn, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	now := time.Now()
	seedIncidents(t, s, now)

	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close(context.WithoutCancel(ctx))) })

	queries := sqlQueries(t)
	require.NotEmpty(t, queries)
	for _, q := range queries {
		sql := expandGrafanaSQL(q.sql, now.Add(-3*time.Hour), now, "anthropic")
		require.NotContains(t, sql, "$", "%s: a Grafana macro or variable the test does not expand", q.where)
		columns, rows, err := queryAsGrafana(ctx, conn, sql)
		if err != nil {
			t.Errorf("%s: %v\n%s", q.where, err, sql)
			continue
		}
		if rows == 0 {
			t.Errorf("%s: no rows\n%s", q.where, sql)
		}
		if q.annotation && (!slices.Contains(columns, "time") || !slices.Contains(columns, "text")) {
			t.Errorf("%s: an annotation query needs columns time and text, got %v", q.where, columns)
		}
	}
}
