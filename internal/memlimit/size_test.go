package memlimit

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Limit
		err  string
	}{
		{"", Auto, ""},
		{"0", Auto, ""},
		{"auto", Auto, ""},
		{"none", None, ""},
		{"NONE", None, ""},
		{"536870912", 512 << 20, ""},
		{"512MiB", 512 << 20, ""},
		{" 512 MiB ", 512 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{"2TiB", 2 << 40, ""},
		{"64KiB", 64 << 10, ""},
		{"800MB", 800e6, ""},
		{"800kB", 800e3, ""},
		{"1000B", 1000, ""},
		{"1.5GiB", 0, `"1.5GiB" is not a size`},
		{"lots", 0, `"lots" is not a size`},
		{"512M", 0, `"512M" is not a size`},
		{"-1", 0, `"-1" is negative`},
		{"9999999TiB", 0, "too large"},
		{"99999999999999999999", 0, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseLimit(tt.in)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLimitTextRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		l    Limit
		want string
	}{{Auto, "auto"}, {None, "none"}, {512 << 20, "512MiB"}, {3 << 30, "3GiB"}, {1000, "1000B"}, {1536, "1536B"}} {
		text, err := tt.l.MarshalText()
		require.NoError(t, err)
		require.Equal(t, tt.want, string(text))
		var back Limit
		require.NoError(t, back.UnmarshalText(text))
		require.Equal(t, tt.l, back)
	}
}
