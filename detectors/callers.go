package detectors

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Which callers an alarm's events come from (issue 18): each member counts, since its change
// point, its observations and events per calling service (Call.ServiceCaller) and per endpoint
// host (Call.Endpoint), so that the evidence says whether the failures are everyone's or one
// caller's ("batch-jobs: 7 of 7; search: 0 of 6; checkout: 0 of 6"), and the verdict
// (verdict.go) is taken on them.

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
		switch {
		case i < maxCallers-1:
			cc.c[i] = callerCount{name: caller}
			cc.used++
		case i == maxCallers-1:
			// The last slot is shared by every caller beyond the first ones.
			cc.c[i] = callerCount{name: OtherCaller}
			cc.used++
		default:
			i = maxCallers - 1
			if event {
				// A failing caller takes the named slot of one that has not failed (folded into
				// the shared one): the failing callers are the ones a verdict must tell apart.
				if j := cc.quietSlot(); j >= 0 {
					o := &cc.c[maxCallers-1]
					o.n, o.k = sat(o.n, cc.c[j].n), sat(o.k, cc.c[j].k)
					cc.c[j], i = callerCount{name: caller}, j
				}
			}
		}
	}
	if cc.c[i].n < 1<<16-1 {
		cc.c[i].n++
		if event {
			cc.c[i].k++
		}
	}
}

// quietSlot returns the named slot with no events and the fewest observations, or -1.
func (cc *callerCounts) quietSlot() int {
	j := -1
	for i, c := range cc.c[:maxCallers-1] {
		if c.k == 0 && (j < 0 || c.n < cc.c[j].n) {
			j = i
		}
	}
	return j
}

func sat(a, b uint16) uint16 { return uint16(min(int(a)+int(b), 1<<16-1)) }

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
