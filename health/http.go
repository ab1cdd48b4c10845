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
}

// API serves the health signal over HTTP (docs/health-api.md). It reads the board alone.
type API struct {
	board     *Board
	heartbeat time.Duration
	now       func() time.Time

	// cache holds encoded bodies for the board generation gen: at tens of thousands of
	// requests per second, most answers are the same bytes.
	mu     sync.Mutex
	gen    uint64
	bodies map[cacheKey][]byte
}

type cacheKey struct {
	provider, model string
	policy          Policy
	list            bool
}

// NewAPI returns the HTTP API over board.
func NewAPI(board *Board, opts HTTPOptions) *API {
	a := &API{board: board, heartbeat: opts.Heartbeat, now: opts.Now, bodies: map[cacheKey][]byte{}}
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
	q := r.URL.Query()
	return Policy{FailDegraded: truthy(q.Get("fail_degraded")), FailUnknown: truthy(q.Get("fail_unknown"))}
}

func truthy(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}

func etag(version uint64) string { return `W/"` + strconv.FormatUint(version, 10) + `"` }

// notModified answers 304 when the client's ETag names the current version.
func notModified(w http.ResponseWriter, r *http.Request, version uint64) bool {
	tag := etag(version)
	w.Header().Set("ETag", tag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == tag || inm == tag[2:]) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
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
		a.board.Wait(ctx, after)
		cancel()
	}
	version := a.board.Version()
	if notModified(w, r, version) {
		return
	}
	p := policyOf(r)
	body := a.cached(cacheKey{policy: p, list: true}, func() ([]byte, bool) {
		v, statuses := a.board.Snapshot()
		return encode(buildReport(v, statuses, p, a.now())), true
	})
	writeJSON(w, http.StatusOK, body)
}

func (a *API) provider(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	p := policyOf(r)
	var usable bool
	body := a.cached(cacheKey{provider: name, policy: p}, func() ([]byte, bool) {
		ps, models, v, ok := a.board.Provider(name)
		if !ok {
			return nil, false
		}
		statuses := append([]detectors.Status{ps}, models...)
		rep := buildReport(v, statuses, p, a.now())
		return encode(struct {
			Version uint64 `json:"version"`
			ProviderView
		}{v, rep.Providers[0]}), true
	})
	if body == nil {
		a.missing(w, p, "provider "+strconv.Quote(name)+" has not been seen")
		return
	}
	st, ok := a.board.Get(detectors.SeriesKey{Provider: name})
	usable = ok && p.Usable(st.State)
	a.answer(w, r, usable, body)
}

func (a *API) model(w http.ResponseWriter, r *http.Request) {
	prov, model := r.PathValue("provider"), r.PathValue("model")
	p := policyOf(r)
	var usable bool
	body := a.cached(cacheKey{provider: prov, model: model, policy: p}, func() ([]byte, bool) {
		ms, ps, v, ok := a.board.Model(prov, model)
		if !ok {
			return nil, false
		}
		return encode(struct {
			Version  uint64 `json:"version"`
			Provider string `json:"provider"`
			ModelView
		}{v, prov, modelView(ms, ps.State, p)}), true
	})
	if body == nil {
		a.missing(w, p, "model "+strconv.Quote(model)+" of provider "+strconv.Quote(prov)+" has not been seen")
		return
	}
	ms, ps, _, ok := a.board.Model(prov, model)
	usable = ok && p.Usable(Effective(ms.State, ps.State))
	a.answer(w, r, usable, body)
}

func (a *API) answer(w http.ResponseWriter, r *http.Request, usable bool, body []byte) {
	if notModified(w, r, a.board.Version()) {
		return
	}
	code := http.StatusOK
	if !usable {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, body)
}

// missing answers for a series never seen: 404, or 503 when unknown is unusable.
func (a *API) missing(w http.ResponseWriter, p Policy, msg string) {
	code := http.StatusNotFound
	if p.FailUnknown {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, encode(map[string]any{"state": "unknown", "usable": !p.FailUnknown, "error": msg}))
}

// cached returns the body for k at the board's current generation, building it with build.
func (a *API) cached(k cacheKey, build func() ([]byte, bool)) []byte {
	gen := a.board.Generation()
	a.mu.Lock()
	if a.gen != gen {
		a.gen = gen
		clear(a.bodies)
	}
	if b, ok := a.bodies[k]; ok {
		a.mu.Unlock()
		return b
	}
	a.mu.Unlock()
	b, ok := build()
	if !ok {
		return nil
	}
	a.mu.Lock()
	if a.gen == gen {
		a.bodies[k] = b
	}
	a.mu.Unlock()
	return b
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
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
