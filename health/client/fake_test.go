package client

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer implements GET /v1/health of docs/health-api.md over a board it is told about:
// a version that moves with every state change, and long-polls with wait and after. It can be
// sent away (connections cut, every request refused) and brought back, restarted with a lower
// version, or shut down as the daemon's first shutdown step does (long-polls answered at once).
type fakeServer struct {
	srv *httptest.Server

	mu        sync.Mutex
	version   uint64
	providers map[string]string            // provider → state
	models    map[string]map[string]string // provider → model → state
	changed   chan struct{}                // closed and replaced on every change
	down      chan struct{}                // closed by shutdown
	downOnce  sync.Once

	away     atomic.Bool
	requests atomic.Int64
	polls    atomic.Int64 // requests with wait
	waiting  atomic.Int64 // times a long-poll began to wait for a change
	woken    atomic.Int64 // long-polls that waited and were answered by a change
	conns    atomic.Int64 // connections opened by clients
}

func newFakeServer(tb testing.TB) *fakeServer {
	tb.Helper()
	f := &fakeServer{providers: map[string]string{}, models: map[string]map[string]string{},
		changed: make(chan struct{}), down: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", f.list)
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	tb.Cleanup(f.srv.Close)
	return f
}

// set changes a series' state (model "" is the provider); a provider is created healthy with
// its first model. Each call moves the version, as a state change does.
func (f *fakeServer) set(provider, model, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.providers[provider]; !ok {
		f.providers[provider] = Healthy
		f.models[provider] = map[string]string{}
	}
	if model == "" {
		f.providers[provider] = state
	} else {
		f.models[provider][model] = state
	}
	f.version++
	close(f.changed)
	f.changed = make(chan struct{})
}

// restart forgets every series and sets the version back to 0, as a restarted daemon does.
func (f *fakeServer) restart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version = 0
	clear(f.providers)
	clear(f.models)
}

// goAway refuses every request and cuts the open ones (the long-poll in flight).
func (f *fakeServer) goAway() {
	f.away.Store(true)
	f.srv.CloseClientConnections()
}

func (f *fakeServer) comeBack() { f.away.Store(false) }

// shutdown answers the long-polls in flight at once, and every later one without waiting, with
// Connection: close, as outagewatch does when it begins to shut down (docs/health-api.md).
func (f *fakeServer) shutdown() { f.downOnce.Do(func() { close(f.down) }) }

func (f *fakeServer) list(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.away.Load() {
		// Cut the connection without an answer, as a dead daemon's port would.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	if ws := q.Get("wait"); ws != "" {
		f.polls.Add(1)
		wait, err := time.ParseDuration(ws)
		if err != nil {
			http.Error(w, "bad wait", http.StatusBadRequest)
			return
		}
		after, err := strconv.ParseUint(q.Get("after"), 10, 64)
		if err != nil {
			http.Error(w, "bad after", http.StatusBadRequest)
			return
		}
		f.wait(r.Context(), after, wait)
		select {
		case <-f.down:
			w.Header().Set("Connection", "close")
		default:
		}
	}
	if f.away.Load() {
		return // cut while waiting: CloseClientConnections has closed the socket
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.body())
}

// wait blocks until the version is above after, wait has passed, or the request ended.
func (f *fakeServer) wait(ctx context.Context, after uint64, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for waited := false; ; waited = true {
		f.mu.Lock()
		v, ch := f.version, f.changed
		f.mu.Unlock()
		if v > after {
			if waited {
				f.woken.Add(1)
			}
			return
		}
		f.waiting.Add(1)
		select {
		case <-ch:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		case <-f.down:
			return
		}
	}
}

// fakeModel and fakeProvider are the documented JSON, with the fields a router reads.
type fakeModel struct {
	Model  string `json:"model"`
	State  string `json:"state"`
	Usable bool   `json:"usable"`
}

type fakeProvider struct {
	Provider string      `json:"provider"`
	State    string      `json:"state"`
	Usable   bool        `json:"usable"`
	Models   []fakeModel `json:"models"`
}

type fakeReport struct {
	Version     uint64         `json:"version"`
	GeneratedAt time.Time      `json:"generated_at"`
	Providers   []fakeProvider `json:"providers"`
}

// body is the current answer. Model states are sent as set, not effective: the client must
// apply the rule itself either way.
func (f *fakeServer) body() fakeReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	rep := fakeReport{Version: f.version, GeneratedAt: time.Now().UTC(), Providers: []fakeProvider{}}
	for _, p := range slices.Sorted(maps.Keys(f.providers)) {
		pv := fakeProvider{Provider: p, State: f.providers[p], Usable: f.providers[p] != Down, Models: []fakeModel{}}
		for _, m := range slices.Sorted(maps.Keys(f.models[p])) {
			st := f.models[p][m]
			pv.Models = append(pv.Models, fakeModel{Model: m, State: st, Usable: st != Down})
		}
		rep.Providers = append(rep.Providers, pv)
	}
	return rep
}
