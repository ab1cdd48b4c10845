package sdkfixtures

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

type span struct {
	s     ptrace.Span
	scope string
}

func decode(t *testing.T, body []byte) ptrace.Traces {
	t.Helper()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return req.Traces()
}

func spansOf(tr ptrace.Traces) []span {
	var out []span
	rss := tr.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				out = append(out, span{ss.Spans().At(k), ss.Scope().Name()})
			}
		}
	}
	return out
}

func attr(s ptrace.Span, key string) string {
	v, ok := s.Attributes().Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// httpStatus is the HTTP status of an HTTP client span (new or old semconv).
func httpStatus(s ptrace.Span) int {
	for _, k := range []string{"http.response.status_code", "http.status_code"} {
		if v := attr(s, k); v != "" {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func spanHost(s ptrace.Span) string {
	for _, k := range []string{"url.full", "http.url"} {
		if v := attr(s, k); v != "" {
			if u, err := url.Parse(v); err == nil {
				return u.Host
			}
		}
	}
	return ""
}

// llmProvider is the provider an LLM span names, in whichever convention.
func llmProvider(s ptrace.Span) string {
	for _, k := range []string{"gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"} {
		if v := attr(s, k); v != "" {
			return v
		}
	}
	return ""
}

// isHTTPInstrumentation says whether a span comes from the generic
// OpenTelemetry HTTP client instrumentations, not from an LLM SDK.
func isHTTPInstrumentation(sp span) bool {
	return sp.scope == "@opentelemetry/instrumentation-undici" || sp.scope == "@opentelemetry/instrumentation-http"
}

func TestScenariosListed(t *testing.T) {
	names, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"anthropic-openllmetry", "gateway-openllmetry", "openai-openinference", "openai-openllmetry"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("Scenarios() = %v, want %v", names, want)
	}
	if _, err := Load("../testdata"); err == nil {
		t.Fatal("Load accepted a path")
	}
	if _, err := Load("no-such-scenario"); err == nil {
		t.Fatal("Load of a missing scenario did not fail")
	}
}

func TestFixtures(t *testing.T) {
	names, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sc, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name != name || sc.Host == "" || len(sc.Stack) == 0 || sc.Notes == "" {
				t.Fatalf("scenario.json incomplete: name %q host %q stack %v notes %q", sc.Name, sc.Host, sc.Stack, sc.Notes)
			}
			if strings.Split(sc.Host, ":")[0] != "127.0.0.1" {
				t.Fatalf("host %q is not loopback", sc.Host)
			}
			if len(sc.Requests) != sc.OTLP.Requests {
				t.Fatalf("%d request files, scenario.json says %d", len(sc.Requests), sc.OTLP.Requests)
			}
			var all []span
			byID := map[pcommon.SpanID]span{}
			for i, body := range sc.Requests {
				tr := decode(t, body)
				if tr.SpanCount() == 0 {
					t.Fatalf("request %d has no spans", i+1)
				}
				for _, sp := range spansOf(tr) {
					all = append(all, sp)
					byID[sp.s.SpanID()] = sp
				}
			}
			// ancestorProvider walks up the exported parents to the first
			// span that names a provider.
			ancestorProvider := func(s ptrace.Span) string {
				for p, ok := byID[s.ParentSpanID()]; ok; p, ok = byID[p.s.ParentSpanID()] {
					if v := llmProvider(p.s); v != "" {
						return v
					}
				}
				return ""
			}

			// Truth from the fake provider's log, per provider.
			good := map[string]int{}
			failed := map[string]int{}
			for _, ph := range sc.Phases {
				total := 0
				for st, n := range ph.Statuses {
					code, err := strconv.Atoi(st)
					if err != nil {
						t.Fatalf("phase %s: status %q", ph.Name, st)
					}
					total += n
					if ph.Name == "good" && code != 200 {
						t.Fatalf("good phase served %d", code)
					}
					if code >= 400 {
						failed[ph.Provider] += n
					}
				}
				if total != ph.RequestsServed {
					t.Fatalf("phase %s/%s: statuses add to %d, requests_served %d", ph.Name, ph.Provider, total, ph.RequestsServed)
				}
				if ph.Provider != "openai" && ph.Provider != "anthropic" {
					t.Fatalf("phase %s: provider %q", ph.Name, ph.Provider)
				}
				switch ph.Name {
				case "good":
					good[ph.Provider] += ph.RequestsServed
					if ph.CallsFailed != 0 || ph.RequestsServed != ph.Calls {
						t.Fatalf("good phase: %d failed, %d requests for %d calls", ph.CallsFailed, ph.RequestsServed, ph.Calls)
					}
				case "errors":
					if ph.CallsFailed != ph.Calls || ph.RequestsServed <= ph.Calls {
						t.Fatalf("errors phase: %d of %d calls failed with %d requests (want all, with retries)", ph.CallsFailed, ph.Calls, ph.RequestsServed)
					}
				}
			}
			if len(failed) == 0 {
				t.Fatal("no error phase")
			}

			// Good phase: each 200 HTTP client span to the host sits under
			// an exported LLM span of the path's provider.
			pathProvider := func(s ptrace.Span) string {
				u, _ := url.Parse(attr(s, "url.full"))
				switch {
				case u == nil:
					return ""
				case strings.HasSuffix(u.Path, "/chat/completions"):
					return "openai"
				case strings.HasSuffix(u.Path, "/messages"):
					return "anthropic"
				}
				return ""
			}
			learned := map[string]int{}
			httpErr := map[string]int{}
			for _, sp := range all {
				s := sp.s
				if !isHTTPInstrumentation(sp) || s.Kind() != ptrace.SpanKindClient || spanHost(s) != sc.Host {
					continue
				}
				p := pathProvider(s)
				switch st := httpStatus(s); {
				case st == 200 && ancestorProvider(s) == p:
					learned[p]++
				case st >= 400:
					httpErr[p]++
				}
			}
			for p, n := range good {
				// stream_errors phases are HTTP 200 too, under an exported LLM span.
				extra := 0
				for _, ph := range sc.Phases {
					if ph.Name == "stream_errors" && ph.Provider == p {
						extra += ph.Statuses["200"]
					}
				}
				if learned[p] != n+extra {
					t.Errorf("%s: %d HTTP 200 spans to %s under a %s LLM span, fake provider served %d good", p, learned[p], sc.Host, p, n+extra)
				}
			}
			// Error phase: one HTTP client span with status >= 400 to the
			// host per failed attempt the fake provider served.
			for p, n := range failed {
				if httpErr[p] != n {
					t.Errorf("%s: %d HTTP client spans >= 400 to %s, fake provider served %d errors", p, httpErr[p], sc.Host, n)
				}
			}
		})
	}
}

func TestShifted(t *testing.T) {
	names, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	delta := 400*24*time.Hour + 1234567*time.Nanosecond
	for _, name := range names {
		sc, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, body := range sc.Requests {
			orig := spansOf(decode(t, body))
			for _, d := range []time.Duration{delta, -delta} {
				out, err := Shifted(body, d)
				if err != nil {
					t.Fatalf("%s/%d: %v", name, i+1, err)
				}
				got := spansOf(decode(t, out))
				if len(got) != len(orig) {
					t.Fatalf("%s/%d: %d spans after shift, %d before", name, i+1, len(got), len(orig))
				}
				for k := range orig {
					o, g := orig[k].s, got[k].s
					if o.SpanID() != g.SpanID() || o.TraceID() != g.TraceID() || o.Name() != g.Name() || o.Attributes().Len() != g.Attributes().Len() {
						t.Fatalf("%s/%d: span %d changed beyond its times", name, i+1, k)
					}
					if g.StartTimestamp().AsTime().Sub(o.StartTimestamp().AsTime()) != d ||
						g.EndTimestamp().AsTime().Sub(o.EndTimestamp().AsTime()) != d {
						t.Fatalf("%s/%d: span %d start/end not shifted by exactly %v", name, i+1, k, d)
					}
					if g.Events().Len() != o.Events().Len() {
						t.Fatalf("%s/%d: events lost", name, i+1)
					}
					for e := 0; e < o.Events().Len(); e++ {
						if int64(g.Events().At(e).Timestamp())-int64(o.Events().At(e).Timestamp()) != int64(d) {
							t.Fatalf("%s/%d: event not shifted by exactly %v", name, i+1, d)
						}
					}
				}
			}
		}
	}
	if _, err := Shifted([]byte{0xff, 0xff, 0xff}, time.Second); err == nil {
		t.Fatal("Shifted accepted garbage")
	}
}

func TestMatrixNotAScenario(t *testing.T) {
	names, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == MatrixDir {
			t.Fatalf("Scenarios() lists %q", MatrixDir)
		}
	}
	if _, err := Load(MatrixDir); err == nil {
		t.Fatalf("Load(%q) did not fail", MatrixDir)
	}
}

func TestMatrix(t *testing.T) {
	cells, err := Matrix()
	if err != nil {
		t.Fatal(err)
	}
	stacks := []string{"anthropic-openinference", "anthropic-openllmetry", "openai-openinference", "openai-openllmetry", "vercel-anthropic", "vercel-openai"}
	modes := []string{"json", "stream"}
	faults := []string{"cut_body", "no_finish", "ok", "overloaded", "rate_limited", "server_error", "stream_error"}
	// Every cell is recorded, in lexical order of stack, mode, fault.
	var want, got []string
	for _, s := range stacks {
		for _, m := range modes {
			for _, f := range faults {
				want = append(want, s+"/"+m+"/"+f)
			}
		}
	}
	for _, c := range cells {
		got = append(got, c.Stack+"/"+c.Mode+"/"+c.Fault)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Matrix() cells:\n%v\nwant\n%v", got, want)
	}
	httpFault := map[string]int{"overloaded": 529, "rate_limited": 429, "server_error": 500}
	for _, c := range cells {
		c := c
		t.Run(c.Stack+"/"+c.Mode+"/"+c.Fault, func(t *testing.T) {
			if c.Calls != 4 || len(c.PerCall) != 4 {
				t.Fatalf("calls %d, per_call %d entries, want 4", c.Calls, len(c.PerCall))
			}
			if strings.Split(c.Host, ":")[0] != "127.0.0.1" || c.Notes == "" || len(c.Packages) == 0 {
				t.Fatalf("cell.json incomplete: host %q, notes %q, packages %v", c.Host, c.Notes, c.Packages)
			}
			if len(c.Attempts) == 0 || len(c.Requests) == 0 || len(c.Requests) != c.OTLPRequests {
				t.Fatalf("%d attempts logged, %d request files, cell.json says %d", len(c.Attempts), len(c.Requests), c.OTLPRequests)
			}

			// The fake provider's log: every request carries the cell's
			// fault, attempts number 1..n per call, and per_call agrees.
			last := map[int]Attempt{}
			n := map[int]int{}
			for _, a := range c.Attempts {
				if a.Fault != c.Fault {
					t.Fatalf("request with fault %q in cell %q", a.Fault, c.Fault)
				}
				if a.Call < 1 || a.Call > c.Calls {
					t.Fatalf("request of call %d", a.Call)
				}
				n[a.Call]++
				if a.AttemptOfCall != n[a.Call] {
					t.Fatalf("call %d: attempt_of_call %d, want %d", a.Call, a.AttemptOfCall, n[a.Call])
				}
				if want, ok := httpFault[c.Fault]; ok && a.Status != want {
					t.Fatalf("status %d, want %d", a.Status, want)
				} else if !ok && a.Status != 200 {
					t.Fatalf("status %d, want 200", a.Status)
				}
				last[a.Call] = a
			}
			for i, pc := range c.PerCall {
				if pc.Attempts != n[i+1] || pc.FinalStatus != last[i+1].Status {
					t.Fatalf("per_call[%d] %d attempts final %d; log has %d, last %d", i, pc.Attempts, pc.FinalStatus, n[i+1], last[i+1].Status)
				}
				switch pc.SDKOutcome {
				case "ok", "error", "incomplete_text":
				default:
					t.Fatalf("per_call[%d] outcome %q", i, pc.SDKOutcome)
				}
				if c.Fault == "ok" && (pc.SDKOutcome != "ok" || pc.Attempts != 1) {
					t.Fatalf("ok cell: call %d %s after %d attempts", i+1, pc.SDKOutcome, pc.Attempts)
				}
				if _, ok := httpFault[c.Fault]; ok && (pc.SDKOutcome != "error" || pc.Attempts != 3) {
					t.Fatalf("HTTP error cell: call %d %s after %d attempts (want error after 3: default 2 retries)", i+1, pc.SDKOutcome, pc.Attempts)
				}
			}
			if c.Fault != "ok" && c.Fault != "no_finish" && len(c.SDKErrors) == 0 && c.PerCall[0].SDKOutcome != "incomplete_text" {
				t.Fatal("a failing cell with no SDK error and complete text")
			}

			// The bodies: every one decodes, no span is sent twice, and the
			// HTTP client spans to the fake host carry exactly the statuses
			// the fake provider logged (every stack here exports undici
			// spans, the SDKs all use fetch).
			seen := map[pcommon.SpanID]bool{}
			var httpStatuses, logStatuses []int
			for i, body := range c.Requests {
				tr := decode(t, body)
				if tr.SpanCount() == 0 {
					t.Fatalf("request %d has no spans", i+1)
				}
				for _, sp := range spansOf(tr) {
					if seen[sp.s.SpanID()] {
						t.Fatalf("span %s %q exported twice", sp.s.SpanID(), sp.s.Name())
					}
					seen[sp.s.SpanID()] = true
					if isHTTPInstrumentation(sp) && sp.s.Kind() == ptrace.SpanKindClient && spanHost(sp.s) == c.Host {
						httpStatuses = append(httpStatuses, httpStatus(sp.s))
					}
				}
			}
			total := 0
			for _, k := range c.Spans {
				total += k
			}
			if total != len(seen) {
				t.Fatalf("cell.json counts %d spans, the requests hold %d", total, len(seen))
			}
			for _, a := range c.Attempts {
				logStatuses = append(logStatuses, a.Status)
			}
			sort.Ints(httpStatuses)
			sort.Ints(logStatuses)
			if fmt.Sprint(httpStatuses) != fmt.Sprint(logStatuses) {
				t.Fatalf("HTTP client span statuses %v, fake provider served %v", httpStatuses, logStatuses)
			}
		})
	}
}
