package incidents

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/bearer"
)

// IncidentView is an incident as JSON.
type IncidentView struct {
	ID       int64  `json:"id"`
	Provider string `json:"provider"`
	GroupKey string `json:"group_key,omitempty"`
	// Caller is the caller a local incident is confined to ("service:batch-jobs",
	// "endpoint:eu.api.example.com"): its calls fail while the provider's other callers are at
	// their baseline. Absent for a provider incident.
	Caller         string     `json:"caller,omitempty"`
	Models         []string   `json:"models"`
	Detectors      []string   `json:"detectors"`
	Severity       Severity   `json:"severity"`
	State          State      `json:"state"`
	OpenedAt       time.Time  `json:"opened_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	ResolvedBy     string     `json:"resolved_by,omitempty"`
	// DurationSeconds runs to the resolution, or to now while active.
	DurationSeconds float64 `json:"duration_seconds"`
	Peak            Peak    `json:"peak"`
	SlackChannel    string  `json:"slack_channel,omitempty"`
	SlackTS         string  `json:"slack_ts,omitempty"`
	// Vendor is the provider's own post of the outage on its status page, once one was linked
	// (issue 25); absent until then.
	Vendor *VendorView `json:"vendor,omitempty"`
}

// VendorView is the provider's post linked to an incident, as JSON.
type VendorView struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
	// PostedAt is the provider's first post; ResolvedAt its resolution there, absent while open.
	PostedAt   *time.Time `json:"posted_at,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// LeadSeconds is PostedAt minus our detection (the opening event's time, or the
	// incident's opening in lists): how long before the provider outagewatch saw the outage,
	// negative when the provider posted first.
	LeadSeconds *float64 `json:"lead_seconds,omitempty"`
}

// vendorView returns the view of inc's linked post, nil while none is; the lead is counted from
// detected.
func vendorView(inc Incident, detected time.Time) *VendorView {
	p := inc.Vendor
	if !p.Linked() {
		return nil
	}
	v := &VendorView{ID: p.ID, Name: p.Name, URL: p.URL}
	if !p.PostedAt.IsZero() {
		posted, lead := p.PostedAt.UTC(), p.PostedAt.Sub(detected).Seconds()
		v.PostedAt, v.LeadSeconds = &posted, &lead
	}
	if !p.ResolvedAt.IsZero() {
		t := p.ResolvedAt.UTC()
		v.ResolvedAt = &t
	}
	return v
}

// detectedAt returns when inc was detected: its opening event's time in timeline, else its
// opening. (vendorstatus/leadtime.Lead counts the same way for views outside this package.)
func detectedAt(inc Incident, timeline []Event) time.Time {
	for _, e := range timeline {
		if e.Kind == EventOpened {
			return e.At
		}
	}
	return inc.OpenedAt
}

// EventView is a timeline event as JSON.
type EventView struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Kind     EventKind `json:"kind"`
	Provider string    `json:"provider,omitempty"`
	Model    string    `json:"model,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Severity Severity  `json:"severity,omitempty"`
	Evidence *Evidence `json:"evidence,omitempty"`
	Actor    string    `json:"actor,omitempty"`
}

// View converts an incident for the API; now gives the duration of an active one.
func View(inc Incident, now time.Time) IncidentView {
	v := IncidentView{
		ID: inc.ID, Provider: inc.Provider, GroupKey: inc.GroupKey, Caller: inc.Caller, Models: inc.Models, Detectors: inc.Detectors,
		Severity: inc.Severity, State: inc.State, OpenedAt: inc.OpenedAt.UTC(), UpdatedAt: inc.UpdatedAt.UTC(),
		AcknowledgedBy: inc.AcknowledgedBy, ResolvedBy: inc.ResolvedBy, Peak: inc.Peak,
		SlackChannel: inc.SlackChannel, SlackTS: inc.SlackTS,
	}
	// Never "": rows written by older builds may hold the provider's own series as model "".
	v.Models = slices.DeleteFunc(slices.Clone(inc.Models), func(m string) bool { return m == "" })
	if v.Models == nil {
		v.Models = []string{}
	}
	if v.Detectors == nil {
		v.Detectors = []string{}
	}
	end := now
	if !inc.AcknowledgedAt.IsZero() {
		t := inc.AcknowledgedAt.UTC()
		v.AcknowledgedAt = &t
	}
	if !inc.ResolvedAt.IsZero() {
		t := inc.ResolvedAt.UTC()
		v.ResolvedAt, end = &t, inc.ResolvedAt
	}
	v.DurationSeconds = end.Sub(inc.OpenedAt).Seconds()
	v.Vendor = vendorView(inc, inc.OpenedAt)
	return v
}

// EventViewOf converts a timeline event for the API.
func EventViewOf(e Event) EventView {
	v := EventView{ID: e.ID, At: e.At.UTC(), Kind: e.Kind, Provider: e.Provider, Model: e.Model, From: e.From, To: e.To, Severity: e.Severity, Actor: e.Actor}
	if e.Evidence.Detector != "" {
		ev := e.Evidence
		v.Evidence = &ev
	}
	return v
}

// Actions are what the mutating endpoints do; the Manager implements them.
type Actions interface {
	Acknowledge(ctx context.Context, id int64, actor string) (Incident, error)
	Resolve(ctx context.Context, id int64, actor string) (Incident, error)
}

// API serves the incidents on the daemon's API port.
type API struct {
	query   Query
	actions Actions
	tokens  Tokens
	now     func() time.Time
}

// Tokens are the bearer tokens that may mutate (internal/bearer.Set): Check returns the name of
// the token presented when it is one of them.
type Tokens interface {
	Check(token string) (name string, ok bool)
}

// NewAPI returns the incidents API. tokens guard the mutating endpoints; when nil they answer
// 403.
func NewAPI(q Query, actions Actions, tokens Tokens) *API {
	return &API{query: q, actions: actions, tokens: tokens, now: time.Now}
}

// Register mounts the routes on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/incidents", a.list)
	mux.HandleFunc("GET /v1/incidents/{id}", a.get)
	mux.HandleFunc("POST /v1/incidents/{id}/ack", a.authorized(a.ack))
	mux.HandleFunc("POST /v1/incidents/{id}/resolve", a.authorized(a.resolve))
}

// Authorize checks a request's bearer token against tokens: 401 without one, 403 with a wrong
// one or when no tokens are configured (nil). It returns the actor to record (the
// X-Outagewatch-Actor header, else the token's name), or false after answering.
func Authorize(w http.ResponseWriter, r *http.Request, tokens Tokens) (string, bool) {
	if tokens == nil {
		writeError(w, http.StatusForbidden, "mutating API calls are disabled: set api.auth.tokens or OUTAGEWATCH_API_TOKEN")
		return "", false
	}
	given, ok := bearer.FromHeader(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", bearer.Challenge)
		writeError(w, http.StatusUnauthorized, "missing bearer token")
		return "", false
	}
	name, ok := tokens.Check(given)
	if !ok {
		writeError(w, http.StatusForbidden, "invalid bearer token")
		return "", false
	}
	actor := r.Header.Get("X-Outagewatch-Actor")
	if actor == "" {
		actor = name
	}
	if len(actor) > 64 {
		actor = actor[:64]
	}
	return actor, true
}

func (a *API) authorized(next func(w http.ResponseWriter, r *http.Request, actor string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if actor, ok := Authorize(w, r, a.tokens); ok {
			next(w, r, actor)
		}
	}
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{State: q.Get("state"), Provider: q.Get("provider"), Caller: q.Get("caller")}
	switch f.State {
	case "", "active", "open", "acknowledged", "resolved":
	default:
		writeError(w, http.StatusBadRequest, "state: want active, open, acknowledged or resolved")
		return
	}
	// The caller filter takes the caller's text form: a typo is an error, not an empty list.
	if _, err := detectors.ParseCaller(f.Caller); err != nil {
		writeError(w, http.StatusBadRequest, "caller: want service:NAME or endpoint:HOST")
		return
	}
	var err error
	if f.Since, err = parseTime(q.Get("since")); err != nil {
		writeError(w, http.StatusBadRequest, "since: "+err.Error())
		return
	}
	if f.Until, err = parseTime(q.Get("until")); err != nil {
		writeError(w, http.StatusBadRequest, "until: "+err.Error())
		return
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 || f.Limit > 500 {
			writeError(w, http.StatusBadRequest, "limit: want 1 to 500")
			return
		}
	}
	if s := q.Get("before"); s != "" {
		if f.Before, err = strconv.ParseInt(s, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, "before: want an incident id")
			return
		}
	}
	incs, err := a.query.List(r.Context(), f)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "incident store unavailable: "+err.Error())
		return
	}
	now := a.now()
	out := struct {
		Incidents  []IncidentView `json:"incidents"`
		NextBefore int64          `json:"next_before,omitempty"`
	}{Incidents: []IncidentView{}}
	for _, inc := range incs {
		out.Incidents = append(out.Incidents, View(inc, now))
	}
	limit := f.Limit
	if limit == 0 {
		limit = 50
	}
	if len(incs) == limit {
		out.NextBefore = incs[len(incs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// parseTime accepts RFC 3339 or a duration ago ("2h").
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want RFC 3339 or a duration like 24h")
	}
	return t, nil
}

func idOf(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "id: want a positive incident id")
		return 0, false
	}
	return id, true
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	id, ok := idOf(w, r)
	if !ok {
		return
	}
	inc, events, err := a.query.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "incident not found")
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "incident store unavailable: "+err.Error())
		return
	}
	out := struct {
		IncidentView
		Timeline []EventView `json:"timeline"`
	}{IncidentView: View(inc, a.now()), Timeline: []EventView{}}
	out.Vendor = vendorView(inc, detectedAt(inc, events))
	for _, e := range events {
		out.Timeline = append(out.Timeline, EventViewOf(e))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) ack(w http.ResponseWriter, r *http.Request, actor string) {
	a.act(w, r, actor, a.actions.Acknowledge)
}

func (a *API) resolve(w http.ResponseWriter, r *http.Request, actor string) {
	a.act(w, r, actor, a.actions.Resolve)
}

func (a *API) act(w http.ResponseWriter, r *http.Request, actor string, do func(context.Context, int64, string) (Incident, error)) {
	id, ok := idOf(w, r)
	if !ok {
		return
	}
	inc, err := do(r.Context(), id, actor)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "incident not found")
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "incident store unavailable: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, View(inc, a.now()))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
