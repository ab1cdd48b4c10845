package health

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/outagewatch/outagewatch/detectors"
)

// Local verdicts (issue 18, "Is it the provider or us?"): when a model's failures are confined
// to one caller (a calling service, or a provider endpoint host) while its other callers stay at
// their baseline, the engine leaves the model's state alone and records a local verdict for that
// caller (detectors.Status.Local). The plain answer stays the model's and lists the local
// verdicts; a query naming the caller (?service=NAME, ?endpoint=HOST) gets the answer as that
// caller sees it: the worse of the model's answer and the caller's local verdict.

// DetectorLocal names the reason a plain answer carries for each of its local verdicts: a
// caller fails on its own ("usable: only service batch-jobs fails, on its own").
const DetectorLocal = "local"

// maxCallerName bounds the ?service= and ?endpoint= values, in bytes. Service names (with their
// namespace and environment) and host names are far shorter.
const maxCallerName = 256

// LocalView is one local verdict of a series, as JSON: a caller whose calls fail while the
// series' other callers are at their baseline.
type LocalView struct {
	// Caller is the text form "kind:name" ("service:batch-jobs", "endpoint:eu.api.example.com").
	Caller  string    `json:"caller"`
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	State   string    `json:"state"`
	Since   time.Time `json:"since"`
	Reasons []Reason  `json:"reasons"`
}

// callerOf reads the caller a query asks as: ?service=NAME or ?endpoint=HOST, or the zero
// Caller for neither. The error says what is wrong, for a 400.
func callerOf(r interface{ Query() url.Values }) (detectors.Caller, error) {
	q := r.Query()
	svc, hasSvc := q["service"]
	ep, hasEp := q["endpoint"]
	switch {
	case hasSvc && hasEp:
		return detectors.Caller{}, errors.New("give service or endpoint, not both")
	case hasSvc:
		return callerNamed(detectors.CallerService, svc)
	case hasEp:
		return callerNamed(detectors.CallerEndpoint, ep)
	}
	return detectors.Caller{}, nil
}

func callerNamed(kind detectors.CallerKind, values []string) (detectors.Caller, error) {
	if len(values) != 1 {
		return detectors.Caller{}, fmt.Errorf("%s: give it once", kind)
	}
	name := values[0]
	switch {
	case name == "":
		return detectors.Caller{}, fmt.Errorf("%s: must not be empty", kind)
	case len(name) > maxCallerName:
		return detectors.Caller{}, fmt.Errorf("%s: longer than %d bytes", kind, maxCallerName)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return detectors.Caller{}, fmt.Errorf("%s: must be printable UTF-8", kind)
	}
	return detectors.Caller{Kind: kind, Name: name}, nil
}

// localFor returns s's local verdict for caller c, if it has one.
func localFor(s detectors.Status, c detectors.Caller) (detectors.Status, bool) {
	if c.IsZero() {
		return detectors.Status{}, false
	}
	for _, l := range s.Local {
		if l.Series.Caller == c {
			return l, true
		}
	}
	return detectors.Status{}, false
}

// localViews lists s's local verdicts; nil when it has none (the JSON leaves "local" out).
func localViews(s detectors.Status) []LocalView {
	var out []LocalView
	for _, l := range s.Local {
		c := l.Series.Caller
		out = append(out, LocalView{
			Caller: c.String(), Kind: string(c.Kind), Name: c.Name, State: l.State.String(),
			Since: l.Since.UTC(), Reasons: []Reason{callerReason(l, s.Series.Model == "")},
		})
	}
	return out
}

// callerLabel is a caller in words: "service batch-jobs", "endpoint eu.api.example.com".
func callerLabel(c detectors.Caller) string { return string(c.Kind) + " " + c.Name }

// callerReason is the reason of a local verdict: its evidence, its caller and state, and a text
// saying the failures are the caller's own.
func callerReason(l detectors.Status, provider bool) Reason {
	r := reasonOf(l.Evidence, l.State)
	r.Caller, r.State, r.Text = l.Series.Caller.String(), l.State.String(), LocalText(l, provider)
	return r
}

// summaryReason is the reason a plain answer carries for one of its local verdicts: the series
// is usable (or not) for its own reasons, and the caller fails on its own.
func summaryReason(l detectors.Status, usable bool) Reason {
	r := reasonOf(l.Evidence, l.State)
	r.Detector, r.Caller, r.State = DetectorLocal, l.Series.Caller.String(), l.State.String()
	r.Text = "only " + callerLabel(l.Series.Caller) + " fails, on its own (" + l.State.String() + " since " + clockOf(l) + ")"
	if usable {
		r.Text = "usable: " + r.Text
	}
	return r
}

// LocalText says in words why a caller's local verdict holds, e.g. "service batch-jobs: 95%
// timeout errors since 14:07 UTC while the model's 2 other services are at their baseline:
// likely its own network, key or deploy". provider says the verdict is a provider's (its
// endpoint hosts) rather than a model's.
func LocalText(l detectors.Status, provider bool) string {
	c, ev := l.Series.Caller, l.Evidence
	whose := "model"
	if provider {
		whose = "provider"
	}
	shares, noun, likely := ev.Callers, "services", "likely its own network, key or deploy"
	if c.Kind == detectors.CallerEndpoint {
		shares, noun, likely = ev.Endpoints, "endpoint hosts", "likely that host's region or deployment"
	}
	others := "other " + noun
	if n, exact := countOthers(shares, c.Name); n > 0 && exact {
		others = strconv.Itoa(n) + " other " + noun
		if n == 1 {
			others = "1 other " + strings.TrimSuffix(noun, "s")
		}
	}
	verb := "are"
	if strings.HasPrefix(others, "1 ") {
		verb = "is"
	}
	return fmt.Sprintf("%s: %s since %s while the %s's %s %s at their baseline: %s",
		callerLabel(c), localFigure(ev), clockOf(l), whose, others, verb, likely)
}

// countOthers counts the shares of callers other than name; exact is false when one of them is
// OtherCaller (several callers counted together).
func countOthers(shares []detectors.CallerShare, name string) (n int, exact bool) {
	exact = true
	for _, s := range shares {
		switch s.Caller {
		case name:
		case detectors.OtherCaller:
			exact = false
		default:
			n++
		}
	}
	return n, exact
}

// localFigure is what fails, in a few words: "95% timeout errors", "40% truncated responses".
func localFigure(ev detectors.Evidence) string {
	switch ev.Detector {
	case detectors.DetectorErrorRate, detectors.DetectorErrorMid, detectors.DetectorErrorDown:
		if len(ev.Classes) > 0 {
			return percent(ev.Observed) + " " + ev.Classes[0].Class.String() + " errors"
		}
		return percent(ev.Observed) + " errors"
	case "":
		return "failures"
	}
	if label, ok := detectorLabels[ev.Detector]; ok {
		return percent(ev.Observed) + " " + label
	}
	return string(ev.Detector)
}

// clockOf is when a local verdict's failures began: the change point, or its Since.
func clockOf(l detectors.Status) string {
	t := l.Evidence.ChangePoint
	if t.IsZero() {
		t = l.Since
	}
	return t.UTC().Format("15:04 UTC")
}

// callerAnswer is a series' answer as the caller of its local verdict l sees it, from the
// series' plain answer (its effective state, since and reasons): the worse of the two states,
// with the caller's reason first when its verdict is the worse, after the series' own
// otherwise. The plain answer's "local" summary reasons are dropped: they speak for the other
// callers.
func callerAnswer(state detectors.State, since time.Time, reasons []Reason, l detectors.Status, provider bool) (detectors.State, time.Time, []Reason) {
	kept := make([]Reason, 0, len(reasons)+1)
	for _, r := range reasons {
		if r.Detector != DetectorLocal {
			kept = append(kept, r)
		}
	}
	cr := callerReason(l, provider)
	if l.State.Worse(state) {
		return l.State, l.Since.UTC(), append([]Reason{cr}, kept...)
	}
	return state, since, append(kept, cr)
}

// asCaller makes mv the answer as caller c sees it, when the model has a local verdict for c.
func (mv *ModelView) asCaller(s detectors.Status, c detectors.Caller, p Policy) {
	l, ok := localFor(s, c)
	if !ok {
		return
	}
	own, _ := detectors.ParseState(mv.State)
	st, since, reasons := callerAnswer(own, mv.Since, mv.Reasons, l, false)
	mv.Caller, mv.State, mv.Usable, mv.Since, mv.Reasons = c.String(), st.String(), p.Usable(st), since, reasons
}

// asCaller makes pv (not its models) the answer as caller c sees it, when the provider has a
// local verdict for c.
func (pv *ProviderView) asCaller(s detectors.Status, c detectors.Caller, p Policy) {
	l, ok := localFor(s, c)
	if !ok {
		return
	}
	own, _ := detectors.ParseState(pv.State)
	st, since, reasons := callerAnswer(own, pv.Since, pv.Reasons, l, true)
	pv.Caller, pv.State, pv.Usable, pv.Since, pv.Reasons = c.String(), st.String(), p.Usable(st), since, reasons
}
