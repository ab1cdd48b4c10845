// Package statusfake is a providers' status page for tests: an httptest server that serves the
// three formats vendorstatus reads from state the test changes over time, and can be told to
// fail.
//
//   - Atlassian Statuspage (Public API v2, developer.statuspage.io): StatuspageURL()+
//     "/api/v2/summary.json" (status, components, unresolved incidents, scheduled_maintenances)
//     and "/api/v2/incidents.json" (the last 50 incidents, newest first).
//   - incident.io's Statuspage-compatible copy under IncidentIOURL(): the same two documents
//     from the same state, with incident.io's differences as seen on status.openai.com: the
//     summary has no incidents nor scheduled_maintenances, and incidents name no components.
//   - Google Cloud's incidents.json (status.cloud.google.com/incidents.json) at GoogleURL(): a
//     JSON array, newest first, "end" absent while an incident is open.
//
// Every answer has an ETag (a hash of the body) and a matching If-None-Match gets 304. A fault
// set with SetFault is served on every path until cleared: a 500, a hang until the client gives
// up, an oversized body, malformed JSON. The Statuspage indicator is derived by the fake's own
// rule (the worst of the components' statuses and the open incidents' impacts), which is close
// to, not exactly, Statuspage's.
//
// It must not be imported by anything but tests.
package statusfake

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Component statuses of a Statuspage page.
const (
	Operational         = "operational"
	DegradedPerformance = "degraded_performance"
	PartialOutage       = "partial_outage"
	MajorOutage         = "major_outage"
)

// Fault is what the server does instead of answering.
type Fault int

// Faults.
const (
	NoFault Fault = iota
	// Fail500 answers 500 Internal Server Error.
	Fail500
	// Hang answers nothing until the client gives up (or the server closes).
	Hang
	// Oversize answers 200 with a well-formed JSON document of OversizeBytes.
	Oversize
	// Malformed answers 200 with a truncated JSON document.
	Malformed
)

// OversizeBytes is the size of the Oversize fault's body.
const OversizeBytes = 5 << 20

// Incident is an incident of the Statuspage and incident.io pages.
type Incident struct {
	ID, Name string
	// Status is investigating, identified, monitoring or resolved; Impact none, minor, major or
	// critical.
	Status, Impact string
	Components     []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ResolvedAt     time.Time // zero while open
}

// GoogleIncident is an incident of the Google Cloud page.
type GoogleIncident struct {
	ID, Desc string
	// Severity is low, medium or high; StatusImpact SERVICE_INFORMATION, SERVICE_DISRUPTION or
	// SERVICE_OUTAGE.
	Severity, StatusImpact string
	Products               []string
	Begin, End             time.Time // End zero while open
}

// Request is one request the server answered.
type Request struct {
	Path        string
	IfNoneMatch string
	Status      int
	// Bytes is the body's size as sent (compressed when gzip was asked for).
	Bytes int
}

// Server is the fake status page. Its methods are safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	done chan struct{} // closed when the test ends: releases hanging handlers

	mu         sync.Mutex
	components []component
	incidents  []Incident
	google     []GoogleIncident
	fault      Fault
	gzip       bool
	requests   []Request
}

type component struct{ name, status string }

// New starts a server with the given components, all operational, and closes it when the test
// ends.
func New(tb testing.TB, components ...string) *Server {
	tb.Helper()
	s := &Server{done: make(chan struct{})}
	for _, c := range components {
		s.components = append(s.components, component{c, Operational})
	}
	s.srv = httptest.NewServer(s.Handler())
	tb.Cleanup(func() {
		close(s.done)
		s.srv.Close()
	})
	return s
}

// URL is the server's root URL.
func (s *Server) URL() string { return s.srv.URL }

// StatuspageURL is the base of the Statuspage format (a Source's URL).
func (s *Server) StatuspageURL() string { return s.srv.URL + "/statuspage" }

// IncidentIOURL is the base of the incident.io format.
func (s *Server) IncidentIOURL() string { return s.srv.URL + "/incidentio" }

// GoogleURL is the Google Cloud incidents.json file's URL.
func (s *Server) GoogleURL() string { return s.srv.URL + "/gcloud/incidents.json" }

// SetComponent sets a component's status (Operational, DegradedPerformance, PartialOutage,
// MajorOutage), adding the component when it is new.
func (s *Server) SetComponent(name, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.components {
		if s.components[i].name == name {
			s.components[i].status = status
			return
		}
	}
	s.components = append(s.components, component{name, status})
}

// PostIncident posts an incident (UpdatedAt defaults to CreatedAt, Status to investigating).
func (s *Server) PostIncident(in Incident) {
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = in.CreatedAt
	}
	if in.Status == "" {
		in.Status = "investigating"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incidents = append(s.incidents, in)
}

// UpdateIncident posts an update of incident id: its new status at at. Status "resolved"
// resolves it.
func (s *Server) UpdateIncident(id, status string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.incidents {
		if s.incidents[i].ID == id {
			s.incidents[i].Status, s.incidents[i].UpdatedAt = status, at
			if status == "resolved" {
				s.incidents[i].ResolvedAt = at
			}
		}
	}
}

// PostGoogleIncident posts an incident on the Google Cloud page.
func (s *Server) PostGoogleIncident(g GoogleIncident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.google = append(s.google, g)
}

// ResolveGoogleIncident ends Google incident id at at.
func (s *Server) ResolveGoogleIncident(id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.google {
		if s.google[i].ID == id {
			s.google[i].End = at
		}
	}
}

// SetFault makes every answer f until SetFault(NoFault).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetGzip makes the server gzip its bodies for clients that accept it.
func (s *Server) SetGzip(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gzip = on
}

// Requests returns the requests answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Handler serves the pages without a listener (for an in-memory client under synctest).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fault, gz := s.fault, s.gzip
	var body []byte
	var found bool
	if fault == NoFault {
		body, found = s.document(r.URL.Path)
	}
	s.mu.Unlock()
	switch fault {
	case Fail500:
		s.record(r, http.StatusInternalServerError, 0)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		s.record(r, 0, 0)
		return
	case Oversize:
		body, found = oversize(), true
	case Malformed:
		body, found = []byte(`{"status":{"indicator":"none","descr`), true
	}
	if !found {
		s.record(r, http.StatusNotFound, 0)
		http.NotFound(w, r)
		return
	}
	s.write(w, r, body, gz)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, body []byte, gz bool) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "public, max-age=0, must-revalidate")
	if r.Header.Get("If-None-Match") == etag {
		s.record(r, http.StatusNotModified, 0)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if gz && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = b.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
	}
	s.record(r, http.StatusOK, len(body))
	_, _ = w.Write(body)
}

func (s *Server) record(r *http.Request, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Path: r.URL.Path, IfNoneMatch: r.Header.Get("If-None-Match"), Status: status, Bytes: n})
}

func oversize() []byte {
	pad := bytes.Repeat([]byte("a"), OversizeBytes)
	return slices.Concat([]byte(`{"status":{"indicator":"none","description":"`), pad, []byte(`"}}`))
}

// document renders the document at path from the state; s.mu is held.
func (s *Server) document(path string) ([]byte, bool) {
	var v any
	switch path {
	case "/statuspage/api/v2/summary.json":
		v = s.summary(false)
	case "/statuspage/api/v2/incidents.json":
		v = s.incidentsDoc(false)
	case "/incidentio/api/v2/summary.json":
		v = s.summary(true)
	case "/incidentio/api/v2/incidents.json":
		v = s.incidentsDoc(true)
	case "/gcloud/incidents.json":
		v = s.googleDoc()
	default:
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the fake's own types always marshal
	}
	return b, true
}
