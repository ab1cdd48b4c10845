package detectors

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Which callers an alarm's events come from (issue 18): each member counts, since its change
// point, its observations and events per calling service (the call's service.name), so that the
// evidence says whether the failures are everyone's or one caller's ("batch-jobs: 7 of 7;
// search: 0 of 6; checkout: 0 of 6").

// maxCallers bounds the callers a member counts; the rest share OtherCaller.
const maxCallers = 4

// OtherCaller names the callers of an excursion beyond the first maxCallers−1.
const OtherCaller = "other"

// CallerShare is one calling service's part of an excursion: its observations since the change
// point and, of them, its events (errors, truncations, 429s or slow calls).
type CallerShare struct {
	Caller string
	N, K   int
}

type callerCount struct {
	name string
	n, k uint16
}

// callerCounts are a member's observations and events per caller since its change point.
type callerCounts struct {
	c    [maxCallers]callerCount
	used uint8
}

func (cc *callerCounts) reset() { *cc = callerCounts{} }

func (cc *callerCounts) add(caller string, event bool) {
	i := 0
	for ; i < int(cc.used); i++ {
		if cc.c[i].name == caller {
			break
		}
	}
	if i == int(cc.used) {
		if i == maxCallers-1 && caller != OtherCaller {
			// The last slot is shared by every caller beyond the first ones.
			caller = OtherCaller
		}
		if i == maxCallers {
			i = maxCallers - 1
		} else {
			cc.c[i].name = caller
			cc.used++
		}
	}
	if cc.c[i].n < 1<<16-1 {
		cc.c[i].n++
		if event {
			cc.c[i].k++
		}
	}
}

// shares lists the callers, most events first; nil when there was a single caller (no one to
// compare with).
func (cc *callerCounts) shares() []CallerShare {
	if cc.used < 2 {
		return nil
	}
	out := make([]CallerShare, 0, cc.used)
	for _, c := range cc.c[:cc.used] {
		out = append(out, CallerShare{Caller: c.name, N: int(c.n), K: int(c.k)})
	}
	slices.SortFunc(out, func(a, b CallerShare) int {
		return cmp.Or(cmp.Compare(b.K, a.K), cmp.Compare(b.N, a.N), cmp.Compare(a.Caller, b.Caller))
	})
	return out
}

// Confinement: the rule the provider-or-us verdict is taken on (issue 18). An excursion's
// failures are one caller's when that caller has at least confinedShare of its events, and the
// other callers, with at least confinedOthers calls since the change point between them, stay
// within their baseline's binomial bound (mean plus two standard deviations, plus one).
const (
	confinedShare  = 0.8
	confinedOthers = 5
)

// confinedTo returns the caller whose calls an excursion's events are confined to, or "" when
// they are not (or there is no other caller to compare with). p0 is the member's baseline.
func confinedTo(shares []CallerShare, p0 float64) string {
	if len(shares) < 2 || shares[0].Caller == OtherCaller {
		return ""
	}
	top := shares[0]
	n, k := 0, 0
	for _, s := range shares[1:] {
		n, k = n+s.N, k+s.K
	}
	total := top.K + k
	if total == 0 || n < confinedOthers || float64(top.K) < confinedShare*float64(total) {
		return ""
	}
	mean := float64(n) * p0
	if float64(k) > mean+2*math.Sqrt(mean*(1-p0))+1 {
		return "" // the others fail beyond their baseline too: everyone's
	}
	return top.Caller
}

// CallerKind says what a Caller names.
type CallerKind string

// Caller kinds: the calling service (the resource's service.name), or the provider endpoint host
// the calls went to (a region, a deployment).
const (
	CallerService  CallerKind = "service"
	CallerEndpoint CallerKind = "endpoint"
)

// Caller is one party a model's failures can be confined to: a calling service or an endpoint
// host. Its text form, in the APIs, the store and metric labels, is "kind:name"
// ("service:batch-jobs", "endpoint:eu.api.example.com"). The zero value is no caller.
type Caller struct {
	Kind CallerKind
	Name string
}

// IsZero reports the zero Caller.
func (c Caller) IsZero() bool { return c == Caller{} }

// String returns "kind:name", or "" for the zero Caller.
func (c Caller) String() string {
	if c.IsZero() {
		return ""
	}
	return string(c.Kind) + ":" + c.Name
}

// ParseCaller is the inverse of String: "" is the zero Caller; an unknown kind or an empty name
// is an error.
func ParseCaller(s string) (Caller, error) {
	if s == "" {
		return Caller{}, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" || (CallerKind(kind) != CallerService && CallerKind(kind) != CallerEndpoint) {
		return Caller{}, fmt.Errorf("caller %q: want service:NAME or endpoint:HOST", s)
	}
	return Caller{Kind: CallerKind(kind), Name: name}, nil
}
