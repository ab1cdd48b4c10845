package rawproto

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCodecPassesBytesThrough: a Message goes out as its bytes and comes back as them; other
// types are refused, not marshalled by reflection.
func TestCodecPassesBytesThrough(t *testing.T) {
	var c Codec
	out, err := c.Marshal(Message("\x0a\x00"))
	require.NoError(t, err)
	var in Message
	require.NoError(t, c.Unmarshal(out, &in))
	require.Equal(t, Message("\x0a\x00"), in)
	_, err = c.Marshal("not a message")
	require.Error(t, err)
	require.Error(t, c.Unmarshal(out, new(string)))
	require.Equal(t, "proto", c.Name())
}
