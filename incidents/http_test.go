package incidents

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestViewShowsNoEmptyModel(t *testing.T) {
	t.Parallel()
	// A row written by an older build, with the provider's own series recorded as model "".
	inc := Incident{ID: 1, Provider: "anthropic", Models: []string{"", "claude-sonnet-4-5"}, OpenedAt: t0, UpdatedAt: t0}
	require.Equal(t, []string{"claude-sonnet-4-5"}, View(inc, t0).Models)
	inc.Models = []string{""}
	require.Equal(t, []string{}, View(inc, t0).Models)
}
