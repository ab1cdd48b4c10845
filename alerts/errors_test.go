package alerts_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
)

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	base := errors.New("slack: invalid_auth")
	require.NoError(t, alerts.Permanent(nil))
	require.NoError(t, alerts.Unauthorized(nil))
	require.NoError(t, alerts.RateLimited(nil, time.Second))

	perm := fmt.Errorf("send: %w", alerts.Permanent(base))
	require.True(t, alerts.IsPermanent(perm))
	require.False(t, alerts.IsUnauthorized(perm))
	require.ErrorIs(t, perm, base)
	require.Equal(t, "send: slack: invalid_auth", perm.Error())

	unauth := fmt.Errorf("send: %w", alerts.Unauthorized(base))
	require.True(t, alerts.IsPermanent(unauth), "unauthorized is permanent")
	require.True(t, alerts.IsUnauthorized(unauth))

	require.False(t, alerts.IsPermanent(base))
	_, ok := alerts.RetryAfter(base)
	require.False(t, ok)

	limited := fmt.Errorf("send: %w", alerts.RateLimited(base, 3*time.Second))
	after, ok := alerts.RetryAfter(limited)
	require.True(t, ok)
	require.Equal(t, 3*time.Second, after)
	require.False(t, alerts.IsPermanent(limited))
	require.ErrorIs(t, limited, base)
	after, ok = alerts.RetryAfter(alerts.RateLimited(base, -time.Second))
	require.True(t, ok)
	require.Zero(t, after)
}
