package normalize

import (
	"math"
	"testing"
)

func FuzzAdjustedCount(f *testing.F) {
	for _, s := range []string{"ot=th:8", "ot=p:3", "a=b,ot=rv:00;th:c", "ot=th:ffffffffffffff", ",,,ot=", "ot=th:0;p:9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ts string) {
		n := AdjustedCount(ts)
		if !(n >= 1 && n <= math.Ldexp(1, 62)) || math.IsNaN(n) {
			t.Fatalf("AdjustedCount(%q) = %v: outside [1, 2^62]", ts, n)
		}
	})
}
