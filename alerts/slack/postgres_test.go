package slack_test

import (
	"fmt"
	"github.com/outagewatch/outagewatch/internal/slackfake"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/store/postgres"
)

// TestTwoWorkersOnePostgres runs two replicas' dispatchers on one database: each message is
// delivered once, each incident's in order.
func TestTwoWorkersOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	ws := slackfake.New(t)
	var replicas []*postgres.Store
	for range 2 {
		s, err := postgres.Open(t.Context(), dsn, nil)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		replicas = append(replicas, s)
	}
	var incs []incidents.Incident
	for i := range 8 {
		incs = append(incs, whole(t, replicas[i%2], fmt.Sprintf("provider%d", i)))
	}
	cfg := botConfig(ws)
	cfg.BatchSize = 3
	for _, s := range replicas {
		start(t, cfg, s, nil)
	}
	require.Eventually(t, drained(t, replicas[0]), 20*time.Second, 10*time.Millisecond)
	requireThreads(t, ws, replicas[0], incs)
	require.Len(t, ws.Messages(), 3*len(incs))
	require.Len(t, ws.Calls("chat.update"), 2*len(incs))
}
