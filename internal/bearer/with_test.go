package bearer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWith(t *testing.T) {
	base, err := Load(Config{})
	require.NoError(t, err)
	one, err := base.With("env", "s3cret")
	require.NoError(t, err)
	require.Equal(t, 0, base.Len(), "the receiver is unchanged")
	require.Equal(t, 1, one.Len())
	name, ok := one.Check("s3cret")
	require.True(t, ok)
	require.Equal(t, "env", name)
	_, err = one.With("env", "other")
	require.Error(t, err, "duplicate name")
	_, err = one.With("ci", "s3cret")
	require.Error(t, err, "same token twice")
	_, err = one.With("", "x")
	require.Error(t, err)
	_, err = one.With("x", "")
	require.Error(t, err)
	var none *Tokens
	two, err := none.With("a", "b")
	require.NoError(t, err)
	require.Equal(t, 1, two.Len())
}
