package slack_test

import (
	"github.com/outagewatch/outagewatch/internal/slackfake"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

// TestSilence mutes an incident's opening; when the silence is lifted, its next event posts the
// root it lacked, then replies.
func TestSilence(t *testing.T) {
	t.Parallel()
	ws, st := slackfake.New(t), openSQLite(t)
	sil, err := st.AddSilence(t.Context(), incidents.Silence{Provider: "anthropic", Until: time.Now().Add(time.Hour), Reason: "maintenance"})
	require.NoError(t, err)
	r := start(t, botConfig(ws), st, nil)
	inc := apply(t, st, opening("anthropic", time.Now()))
	require.Eventually(t, drained(t, st), 10*time.Second, 5*time.Millisecond)
	require.Empty(t, ws.Calls(""), "silenced")
	require.Equal(t, 1.0, r.metric(t, "outagewatch_alerts_silenced_total", ""))

	require.NoError(t, st.DeleteSilence(t.Context(), sil.ID))
	apply(t, st, transition(inc.ID, "anthropic", time.Now()))
	require.Eventually(t, drained(t, st), 10*time.Second, 5*time.Millisecond)
	msgs := ws.Messages()
	require.Len(t, msgs, 2, "the root, then the reply")
	require.Empty(t, msgs[0].ThreadTS)
	require.Equal(t, msgs[0].TS, msgs[1].ThreadTS)
	require.Equal(t, 1, msgs[0].Updates)
}
