package normalize

import (
	"math"
	"strings"
)

// AdjustedCount returns the number of calls a span stands for under OpenTelemetry probability
// sampling, from its W3C tracestate: with `ot=th:T` (T, 1 to 14 hex digits, is the rejection
// threshold, right-padded to 56 bits) it is 2^56 / (2^56 − T), so th:8 is 2 and th:c is 4; with
// the older experimental `ot=p:N` it is 2^N. It returns 1 when the tracestate says nothing of
// sampling or says it wrongly (the span is then taken to stand for itself).
func AdjustedCount(tracestate string) float64 {
	ot, ok := otMember(tracestate)
	if !ok {
		return 1
	}
	var p string
	for kv := range strings.SplitSeq(ot, ";") {
		k, v, _ := strings.Cut(kv, ":")
		switch k {
		case "th":
			return thresholdCount(v)
		case "p":
			p = v
		}
	}
	if n, ok := atoi(p); ok && n >= 0 && n <= 62 && len(p) <= 2 {
		return float64(uint64(1) << n)
	}
	return 1
}

// otMember returns the value of the `ot` list-member of a tracestate.
func otMember(tracestate string) (string, bool) {
	if !strings.Contains(tracestate, "ot=") {
		return "", false
	}
	for m := range strings.SplitSeq(tracestate, ",") {
		m = strings.TrimSpace(m)
		if v, ok := strings.CutPrefix(m, "ot="); ok {
			return v, true
		}
	}
	return "", false
}

// thresholdCount is the adjusted count of threshold th (OpenTelemetry's TraceState Handling).
func thresholdCount(th string) float64 {
	if th == "" || len(th) > 14 {
		return 1
	}
	var t uint64
	for i := 0; i < 14; i++ {
		d := uint64(0)
		if i < len(th) {
			c := th[i]
			switch {
			case '0' <= c && c <= '9':
				d = uint64(c - '0')
			case 'a' <= c && c <= 'f':
				d = uint64(c-'a') + 10
			default:
				return 1
			}
		}
		t = t<<4 | d
	}
	const full = uint64(1) << 56
	return math.Ldexp(1, 56) / float64(full-t)
}
