package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// Bounds of a silence request.
const (
	maxSilenceBody     = 64 << 10
	maxSilenceDuration = 90 * 24 * time.Hour
	maxSilenceField    = 1024
)

// SilenceView is a silence as JSON.
type SilenceView struct {
	ID        int64     `json:"id"`
	Provider  string    `json:"provider"`
	Model     string    `json:"model,omitempty"`
	Until     time.Time `json:"until"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func silenceView(s incidents.Silence) SilenceView {
	return SilenceView{
		ID: s.ID, Provider: s.Provider, Model: s.Model, Until: s.Until.UTC(), Reason: s.Reason,
		CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt.UTC(),
	}
}

// silenceRequest is the body of POST /v1/silences: until (RFC 3339) or duration ("2h").
type silenceRequest struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Until    string `json:"until"`
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

// SilenceAPI serves /v1/silences on the daemon's API port: silences mute notifications of a
// provider (or of one of its models) until a time; detection, incidents and the health signal
// carry on.
type SilenceAPI struct {
	store  SilenceStore
	tokens incidents.Tokens
	now    func() time.Time
}

// NewSilenceAPI returns the silences API. tokens guard creating and deleting silences; when nil
// they answer 403. Listing is open, like the incidents.
func NewSilenceAPI(store SilenceStore, tokens incidents.Tokens) *SilenceAPI {
	return &SilenceAPI{store: store, tokens: tokens, now: time.Now}
}

// Register mounts the routes on mux.
func (a *SilenceAPI) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/silences", a.list)
	mux.HandleFunc("POST /v1/silences", a.create)
	mux.HandleFunc("DELETE /v1/silences/{id}", a.delete)
}

func (a *SilenceAPI) list(w http.ResponseWriter, r *http.Request) {
	silences, err := a.store.Silences(r.Context(), a.now())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "silence store unavailable: "+err.Error())
		return
	}
	out := struct {
		Silences []SilenceView `json:"silences"`
	}{Silences: []SilenceView{}}
	for _, s := range silences {
		out.Silences = append(out.Silences, silenceView(s))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *SilenceAPI) create(w http.ResponseWriter, r *http.Request) {
	actor, ok := incidents.Authorize(w, r, a.tokens)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "want Content-Type application/json")
		return
	}
	var req silenceRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSilenceBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	s, err := a.silence(req, actor)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s, err = a.store.AddSilence(r.Context(), s)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "silence store unavailable: "+err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, silenceView(s))
}

// silence validates a request and returns the silence it asks for.
func (a *SilenceAPI) silence(req silenceRequest, actor string) (incidents.Silence, error) {
	now := a.now()
	// Provider names are normalised to lower case by ingest; "Anthropic" would silence nothing.
	s := incidents.Silence{
		Provider: strings.ToLower(strings.TrimSpace(req.Provider)), Model: strings.TrimSpace(req.Model),
		Reason: strings.TrimSpace(req.Reason), CreatedBy: actor, CreatedAt: now,
	}
	switch {
	case s.Provider == "":
		return s, errors.New("provider: must be set")
	case s.Reason == "":
		return s, errors.New("reason: must be set, so that others know why alerts are muted")
	case len(s.Provider) > maxSilenceField || len(s.Model) > maxSilenceField || len(s.Reason) > maxSilenceField:
		return s, fmt.Errorf("provider, model and reason: at most %d bytes each", maxSilenceField)
	case (req.Until == "") == (req.Duration == ""):
		return s, errors.New("until or duration: set exactly one (until: RFC 3339; duration: like 2h)")
	}
	if req.Duration != "" {
		d, err := time.ParseDuration(req.Duration)
		if err != nil || d <= 0 {
			return s, errors.New("duration: want a positive duration like 90m or 2h")
		}
		s.Until = now.Add(d)
	} else {
		until, err := time.Parse(time.RFC3339, req.Until)
		if err != nil {
			return s, errors.New("until: want RFC 3339, like 2026-06-01T18:00:00Z")
		}
		s.Until = until
	}
	if !s.Until.After(now) {
		return s, errors.New("until: must be in the future")
	}
	if s.Until.Sub(now) > maxSilenceDuration {
		return s, errors.New("until: at most 90 days ahead")
	}
	return s, nil
}

func (a *SilenceAPI) delete(w http.ResponseWriter, r *http.Request) {
	if _, ok := incidents.Authorize(w, r, a.tokens); !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "id: want a positive silence id")
		return
	}
	err = a.store.DeleteSilence(r.Context(), id)
	switch {
	case errors.Is(err, incidents.ErrSilenceNotFound):
		writeError(w, http.StatusNotFound, "silence not found")
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "silence store unavailable: "+err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
