package rules_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/store/internal/rules"
)

func TestDestinations(t *testing.T) {
	t.Parallel()
	in := []string{"webhook", "am@b:9093", "am@a:9093", "webhook"}
	require.Equal(t, []string{"am@a:9093", "am@b:9093", "webhook"}, rules.Destinations(in))
	require.Equal(t, []string{"webhook", "am@b:9093", "am@a:9093", "webhook"}, in, "the input is left alone")
	require.Empty(t, rules.Destinations(nil))
}
