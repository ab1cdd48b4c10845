package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/slackfake"
)

// TestLocalIncidentHasItsOwnThread: batch-jobs' local incident (issue 18) and the provider's
// incident are threads of their own; the local root names the caller, and its widened end
// replies in its thread, pointing to the provider's incident.
func TestLocalIncidentHasItsOwnThread(t *testing.T) {
	t.Parallel()
	ws, st := slackfake.New(t), openSQLite(t)
	start(t, botConfig(ws), st, nil)
	now := time.Now()
	local := opening("anthropic", now.Add(-3*time.Second))
	local.Caller = "service:batch-jobs"
	local.Events[0].Evidence.ConfinedTo = "service:batch-jobs"
	local.Events[0].Evidence.Callers = []incidents.CallerShare{{Service: "batch-jobs", Calls: 40, Failures: 38}, {Service: "search", Calls: 30}}
	localInc := apply(t, st, local)
	providerInc := apply(t, st, opening("anthropic", now.Add(-2*time.Second)))
	require.NotEqual(t, localInc.ID, providerInc.ID)

	end := resolution(localInc.ID, "anthropic", now)
	end.Events[0].Evidence = incidents.Evidence{Detector: "widened", Observed: 0.6}
	apply(t, st, end)
	require.Eventually(t, drained(t, st), 10*time.Second, 5*time.Millisecond)

	roots := map[int64]string{}
	var replies []string
	for _, m := range ws.Messages() {
		incident, _, kind := payload(t, m)
		if m.ThreadTS == "" {
			roots[incident] = m.TS
			continue
		}
		require.Equal(t, roots[localInc.ID], m.ThreadTS, "the reply goes to the local incident's thread")
		require.Equal(t, incidents.NotifyResolve, kind)
		replies = append(replies, m.Text)
	}
	require.Len(t, roots, 2, "one thread per incident")
	require.NotEqual(t, roots[localInc.ID], roots[providerInc.ID])
	require.Equal(t, []string{"anthropic for batch-jobs ended after 3s: the failures spread beyond batch-jobs: see the anthropic incident"}, replies)

	texts := map[string]string{}
	for _, m := range ws.Messages() {
		texts[m.TS] = m.Text
	}
	require.True(t, strings.HasPrefix(texts[roots[localInc.ID]], "anthropic for batch-jobs ended after 3s: the failures spread"),
		"the local root, updated: %s", texts[roots[localInc.ID]])
	require.True(t, strings.HasPrefix(texts[roots[providerInc.ID]], "anthropic is down (critical)"), texts[roots[providerInc.ID]])
}
