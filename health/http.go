package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// maxWait bounds a long-poll.
const maxWait = 5 * time.Minute

// HTTPOptions configure the HTTP API.
type HTTPOptions struct {
	// Heartbeat is the interval of SSE heartbeats; 15 s when zero.
	Heartbeat time.Duration
	// Now is the clock of generated_at; time.Now when nil.
	Now func() time.Time
	// Freshness, when set, adds the "ingest" object (what arrived lately) to GET /v1/health
	// and to the stream's snapshots; nil leaves it out.
	Freshness FreshnessSource
	// VendorStatus, when set, adds each provider's "provider_status" object (what its own status
	// page says, beside our verdict) to the providers of GET /v1/health and of the stream's
	// snapshots, to GET /v1/health/{provider} and to GET /v1/health/{provider}/{model}. It never
	// changes a state, usable, the reasons or the status code. nil leaves it out.
	VendorStatus VendorStatusSource
}

// API serves the health signal over HTTP (docs/health-api.md). It reads the board alone, and
// the FreshnessSource and the VendorStatusSource when it has them.
type API struct {
	board     *Board
	heartbeat time.Duration
	now       func() time.Time
	fresh     FreshnessSource    // nil: no "ingest" object
	vendor    VendorStatusSource // nil: no "provider_status" objects

	// cache holds encoded bodies for the generation gen: at tens of thousands of requests per
	// second, most answers are the same bytes.
	mu     sync.Mutex
	gen    cacheGen
	bodies map[cacheKey]answer
}

// cacheGen is what the cached bodies were built from: the board's generation and, when the
// answers carry ingest's freshness or the providers' own pages (which move without the board),
// the second they were built in. Those are thus at most a second old, and read at most once a
// second per answer (the per-series answers, which do not carry the freshness, are rebuilt once
// a second too: the board moves that often anyway).
type cacheGen struct {
	board  uint64
	second int64
}

// answer is a cached response: its body, status code and ETag, and the cluster metadata its
// body carries (for the headers).
type answer struct {
	body []byte
	code int
	etag []string
	cl   clusterMeta
}

// clusterMeta is what Board.SetCluster set: the leader's term (0 outside a cluster) and whether
// the replica serves without its leader.
type clusterMeta struct {
	term  int64
	stale bool
}

func (a *API) clusterMeta() clusterMeta {
	t, s := a.board.Cluster()
	return clusterMeta{t, s}
}

// Cluster headers: Outagewatch-Term when in a cluster, Outagewatch-Stale while stale.
const (
	headerTerm  = "Outagewatch-Term"
	headerStale = "Outagewatch-Stale"
)

var staleTrue = []string{"true"}

// set adds the cluster headers to h; outside a cluster it adds none.
func (m clusterMeta) set(h http.Header) {
	if m.term != 0 {
		h[headerTerm] = []string{strconv.FormatInt(m.term, 10)}
	}
	if m.stale {
		h[headerStale] = staleTrue
	}
}

type cacheKey struct {
	provider, model string
	policy          Policy
	list            bool
	// caller is the caller the answer is for, when it has a local verdict on the board (the
	// answer for any other caller is the plain one, cached under the zero Caller): the keys stay
	// bounded by the engine's local verdicts, whatever names clients send.
	caller detectors.Caller
}

// NewAPI returns the HTTP API over board.
func NewAPI(board *Board, opts HTTPOptions) *API {
	a := &API{
		board: board, heartbeat: opts.Heartbeat, now: opts.Now, fresh: opts.Freshness, vendor: opts.VendorStatus,
		bodies: map[cacheKey]answer{},
	}
	if a.heartbeat <= 0 {
		a.heartbeat = 15 * time.Second
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Register mounts the API's routes on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/health", a.list)
	mux.HandleFunc("GET /v1/health/stream", a.stream)
	mux.HandleFunc("GET /v1/health/{provider}", a.provider)
	mux.HandleFunc("GET /v1/health/{provider}/{model...}", a.model)
}

func policyOf(r *http.Request) Policy {
	if r.URL.RawQuery == "" {
		return Policy{}
	}
	q := r.URL.Query()
	return Policy{FailDegraded: truthy(q.Get("fail_degraded")), FailUnknown: truthy(q.Get("fail_unknown"))}
}

// queryCaller reads ?service= or ?endpoint=; on a bad value it answers 400 and returns false.
func (a *API) queryCaller(w http.ResponseWriter, r *http.Request) (detectors.Caller, bool) {
	if r.URL.RawQuery == "" {
		return detectors.Caller{}, true
	}
	c, err := callerOf(r.URL)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, encode(map[string]string{"error": err.Error()}))
		return detectors.Caller{}, false
	}
	return c, true
}

// narrow returns c, or the zero Caller when no series on the board has a local verdict for c:
// then its answers are the plain ones, and cached as those.
func (a *API) narrow(c detectors.Caller) detectors.Caller {
	if c.IsZero() || a.board.HasLocal(c) {
		return c
	}
	return detectors.Caller{}
}

func truthy(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}

func etag(version uint64) string { return `W/"` + strconv.FormatUint(version, 10) + `"` }

// Header values set on every answer, allocated once.
var (
	jsonContentType = []string{"application/json"}
	noCache         = []string{"no-cache"}
)

// notModified answers 304 when the client's ETag names the version of tag.
func notModified(w http.ResponseWriter, r *http.Request, tag []string) bool {
	w.Header()["Etag"] = tag
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == tag[0] || inm == tag[0][2:]) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	c, ok := a.queryCaller(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if ws := q.Get("wait"); ws != "" {
		wait, err := time.ParseDuration(ws)
		if err != nil || wait < 0 {
			http.Error(w, "wait: want a duration like 30s", http.StatusBadRequest)
			return
		}
		after, err := strconv.ParseUint(q.Get("after"), 10, 64)
		if err != nil && q.Get("after") != "" {
			http.Error(w, "after: want a version number", http.StatusBadRequest)
			return
		}
		if q.Get("after") == "" {
			after = a.board.Version()
		}
		ctx, cancel := context.WithTimeout(r.Context(), min(wait, maxWait))
		a.board.Wait(ctx, after) // returns at once once the board is closed
		cancel()
		if a.board.closed() {
			// Shutting down: the client's next long-poll opens a new connection, which may
			// reach another replica.
			w.Header().Set("Connection", "close")
		}
	}
	p, c := policyOf(r), a.narrow(c) // after the wait: the caller's verdict may have come
	ans := a.cached(cacheKey{policy: p, list: true, caller: c}, func() (answer, bool) {
		cl := a.clusterMeta()
		v, statuses := a.board.Snapshot()
		return answer{body: encode(a.report(v, statuses, p, c, cl)), code: http.StatusOK, etag: []string{etag(v)}, cl: cl}, true
	})
	a.write(w, r, ans)
}

func (a *API) provider(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	c, ok := a.queryCaller(w, r)
	if !ok {
		return
	}
	p, c := policyOf(r), a.narrow(c)
	ans := a.cached(cacheKey{provider: name, policy: p, caller: c}, func() (answer, bool) {
		cl := a.clusterMeta()
		ps, models, v, ok := a.board.Provider(name)
		if !ok {
			return answer{}, false
		}
		statuses := append([]detectors.Status{ps}, models...)
		rep := buildReportAs(v, statuses, p, a.now(), c)
		a.withProviderStatus(&rep)
		body := encode(struct {
			Version uint64 `json:"version"`
			Term    int64  `json:"term,omitempty"`
			Stale   bool   `json:"stale,omitempty"`
			ProviderView
		}{v, cl.term, cl.stale, rep.Providers[0]})
		return answer{body: body, code: statusCode(rep.Providers[0].Usable), etag: []string{etag(v)}, cl: cl}, true
	})
	if ans.body == nil {
		a.missing(w, p, "provider "+strconv.Quote(name)+" has not been seen")
		return
	}
	a.write(w, r, ans)
}

func (a *API) model(w http.ResponseWriter, r *http.Request) {
	prov, model := r.PathValue("provider"), r.PathValue("model")
	c, ok := a.queryCaller(w, r)
	if !ok {
		return
	}
	p, c := policyOf(r), a.narrow(c)
	ans := a.cached(cacheKey{provider: prov, model: model, policy: p, caller: c}, func() (answer, bool) {
		cl := a.clusterMeta()
		ms, ps, v, ok := a.board.Model(prov, model)
		if !ok {
			return answer{}, false
		}
		mv := modelView(ms, ps, p, c)
		body := encode(struct {
			Version  uint64 `json:"version"`
			Term     int64  `json:"term,omitempty"`
			Stale    bool   `json:"stale,omitempty"`
			Provider string `json:"provider"`
			ModelView
			// ProviderStatus is the provider's own page beside the model's answer.
			ProviderStatus *ProviderStatusView `json:"provider_status,omitempty"`
		}{v, cl.term, cl.stale, prov, mv, a.providerStatus(prov, mv.State)})
		return answer{body: body, code: statusCode(mv.Usable), etag: []string{etag(v)}, cl: cl}, true
	})
	if ans.body == nil {
		a.missing(w, p, "model "+strconv.Quote(model)+" of provider "+strconv.Quote(prov)+" has not been seen")
		return
	}
	a.write(w, r, ans)
}

// report is the body of GET /v1/health (and of the stream's snapshots): the board's statuses,
// as caller c sees them, the cluster metadata, and, when there are sources, ingest's freshness
// and the providers' own pages.
func (a *API) report(version uint64, statuses []detectors.Status, p Policy, c detectors.Caller, cl clusterMeta) Report {
	now := a.now()
	rep := buildReportAs(version, statuses, p, now, c)
	rep.Term, rep.Stale = cl.term, cl.stale
	if a.fresh != nil {
		rep.Ingest = ingestViewOf(a.fresh.Freshness(now), now)
	}
	a.withProviderStatus(&rep)
	return rep
}

func statusCode(usable bool) int {
	if usable {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

func (a *API) write(w http.ResponseWriter, r *http.Request, ans answer) {
	ans.cl.set(w.Header())
	if notModified(w, r, ans.etag) {
		return
	}
	writeJSON(w, ans.code, ans.body)
}

// missing answers for a series never seen: 404, or 503 when unknown is unusable.
func (a *API) missing(w http.ResponseWriter, p Policy, msg string) {
	code := http.StatusNotFound
	if p.FailUnknown {
		code = http.StatusServiceUnavailable
	}
	body := map[string]any{"state": "unknown", "usable": !p.FailUnknown, "error": msg}
	if cl := a.clusterMeta(); cl != (clusterMeta{}) {
		cl.set(w.Header())
		if cl.term != 0 {
			body["term"] = cl.term
		}
		if cl.stale {
			body["stale"] = true
		}
	}
	writeJSON(w, code, encode(body))
}

// cached returns the answer for k at the board's current generation, building it with build.
// Answers for series never seen are not cached, so hostile paths cannot grow the cache.
func (a *API) cached(k cacheKey, build func() (answer, bool)) answer {
	gen := cacheGen{board: a.board.Generation()}
	if a.fresh != nil || a.vendor != nil {
		gen.second = a.now().Unix()
	}
	a.mu.Lock()
	if a.gen != gen {
		a.gen = gen
		clear(a.bodies)
	}
	if ans, ok := a.bodies[k]; ok {
		a.mu.Unlock()
		return ans
	}
	a.mu.Unlock()
	ans, ok := build()
	if !ok {
		return answer{}
	}
	a.mu.Lock()
	if a.gen == gen {
		a.bodies[k] = ans
	}
	a.mu.Unlock()
	return ans
}

func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	return buf.Bytes()
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noCache
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
