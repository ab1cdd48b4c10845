package normalize

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAdjustedCount(t *testing.T) {
	for ts, want := range map[string]float64{
		"":                           1,
		"ot=th:0":                    1,
		"ot=th:8":                    2,
		"ot=th:c":                    4,
		"ot=th:f":                    16,
		"ot=th:e666666666666":        10.000000000000036, // 10%, as SDKs write it (14 hex digits)
		"ot=th:e6666666666666":       10,
		"ot=rv:0123456789abcd;th:c":  4,
		"vendor=a:b,ot=th:c,other=x": 4,
		"vendor=a:b, ot=th:8":        2,
		"ot=p:3":                     8, // the older experimental form
		"ot=p:3;th:8":                2, // th wins
		"ot=th:":                     1,
		"ot=th:C":                    1, // upper case is not valid hex here
		"ot=th:123456789abcdef":      1, // 15 digits
		"ot=th:xyz":                  1,
		"ot=p:63":                    1,
		"ot=p:-1":                    1,
		"not=th:8":                   1,
		"ot=th:ffffffffffffff":       math.Ldexp(1, 56),
	} {
		require.InDelta(t, want, AdjustedCount(ts), want*1e-12, ts)
	}
}
