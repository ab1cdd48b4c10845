package frame

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type raw struct{ b []byte }

func (r *raw) MarshalFrame() (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(r.b)}, nil
}
func (r *raw) UnmarshalFrame(data mem.BufferSlice) error {
	r.b = data.Materialize()
	return nil
}

// TestFramesRawOthersProto: a frame passes as its own bytes; a generated message is protobuf.
func TestFramesRawOthersProto(t *testing.T) {
	c := Codec()
	out, err := c.Marshal(&raw{b: []byte("abc")})
	require.NoError(t, err)
	var in raw
	require.NoError(t, c.Unmarshal(out, &in))
	require.Equal(t, "abc", string(in.b))

	out, err = c.Marshal(wrapperspb.String("x"))
	require.NoError(t, err)
	var s wrapperspb.StringValue
	require.NoError(t, c.Unmarshal(out, &s))
	require.Equal(t, "x", s.GetValue())
	require.Equal(t, "proto", c.Name())
}
