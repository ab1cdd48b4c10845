// Package fakeprovider is a stand-in for the model providers that the coding-agent CLIs call:
// just enough of the Anthropic Messages API (Claude Code), the Gemini API (Gemini CLI) and the
// OpenAI Responses API (Codex) for a one-line headless prompt to complete, with faults set at
// run time (an HTTP status for every model call, or a stream cut midway) so that the CLIs'
// telemetry of a provider outage can be recorded and tested.
//
// The Server is an http.Handler: serve it with httptest.NewServer or an http.Server and point
// the CLIs' base URLs at it (ANTHROPIC_BASE_URL=URL, GOOGLE_GEMINI_BASE_URL=URL, Codex's
// model_providers.<id>.base_url=URL/v1).
package fakeprovider

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Reply is the text every successful model call answers with.
const Reply = "Hi!"

// Fault is what the model calls answer with. The zero Fault answers every call normally.
type Fault struct {
	// Status, when not 0, is the HTTP status of every model call, with the API's error body for
	// it (for 529 Anthropic's overloaded_error).
	Status int
	// Cut, when Status is 0, makes streaming calls send their first events and then close the
	// connection without the end of the stream; non-streaming calls answer 200 with half a body.
	Cut bool
}

// String names the fault as in fixture file names: "ok", "529", "503", "cut".
func (f Fault) String() string {
	switch {
	case f.Status != 0:
		return fmt.Sprint(f.Status)
	case f.Cut:
		return "cut"
	}
	return "ok"
}

// Request is one request the server received, for tests and for finding out what a CLI calls.
type Request struct {
	Time   time.Time
	Method string
	Path   string // with the query
	// API is "anthropic", "gemini" or "openai" ("" for an unknown path).
	API string
	// Model is the model named in the path or the body, when there is one.
	Model string
	// Stream reports whether a streaming answer was asked for.
	Stream bool
	// Status is the HTTP status answered.
	Status int
}

// Server is the fake provider. The zero value is not usable; call New.
type Server struct {
	mu       sync.Mutex
	fault    Fault
	requests []Request
	seq      int
}

// New returns a Server with no fault.
func New() *Server { return &Server{} }

// SetFault sets how the model calls answer from now on.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Fault returns the current fault.
func (s *Server) Fault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset forgets the requests received.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *Server) nextID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

// ServeHTTP routes a request to the API its path belongs to.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &Request{Time: time.Now(), Method: r.Method, Path: r.URL.RequestURI()}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		rec.Status = sw.status
		s.record(*rec)
	}()
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/v1/messages") || path == "/v1/models" && r.Header.Get("anthropic-version") != "" ||
		strings.HasPrefix(path, "/v1/models/claude"):
		rec.API = "anthropic"
		s.anthropic(sw, r, rec)
	case strings.HasPrefix(path, "/v1beta/") || strings.HasPrefix(path, "/v1alpha/"):
		rec.API = "gemini"
		s.gemini(sw, r, rec)
	case strings.HasPrefix(path, "/v1/responses") || path == "/v1/models":
		rec.API = "openai"
		s.openai(sw, r, rec)
	default:
		http.NotFound(sw, r)
	}
}

// statusWriter remembers the status written and passes Flush on.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// sse writes Server-Sent Events, flushing after each.
type sse struct{ w http.ResponseWriter }

func startSSE(w http.ResponseWriter) sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return sse{w}
}

// event writes one event; name "" writes a data-only event (Gemini's alt=sse).
func (e sse) event(name string, data any) {
	b, _ := json.Marshal(data)
	if name != "" {
		fmt.Fprintf(e.w, "event: %s\n", name)
	}
	fmt.Fprintf(e.w, "data: %s\n\n", b)
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
}

// cut ends the response by closing the connection without a proper end (the http.Server
// recovers http.ErrAbortHandler silently).
func cut() { panic(http.ErrAbortHandler) }

// halfBody answers 200 with the start of a JSON body, then cuts the connection.
func halfBody(w http.ResponseWriter, start string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, start)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	cut()
}

// decodeBody reads a JSON request body into a map; a body that is not JSON gives an empty map.
func decodeBody(r *http.Request) map[string]any {
	m := map[string]any{}
	_ = json.NewDecoder(http.MaxBytesReader(nil, r.Body, 32<<20)).Decode(&m)
	return m
}
