package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// overloadedBody is what Anthropic's API answers with its 529.
const overloadedBody = `{"type":"error","error":{"type":"overloaded_error"}}`

// fakeProvider is a local stand-in for an LLM provider's API: POST /v1/messages answers a JSON
// completion after a small latency, or 529 overloaded while it is told to fail.
// POST /control/fail and POST /control/recover switch the failure from outside.
type fakeProvider struct {
	name, model string
	latency     time.Duration
	failing     atomic.Bool
	calls       atomic.Int64
	logger      *slog.Logger

	ln  net.Listener
	srv *http.Server
}

// newFakeProvider listens on addr (127.0.0.1:0 for a free port) and serves until Close.
func newFakeProvider(name, model, addr string, latency time.Duration, logger *slog.Logger) (*fakeProvider, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	p := &fakeProvider{name: name, model: model, latency: latency, ln: ln, logger: logger.With("component", "fake_provider", "provider", name)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", p.messages)
	mux.HandleFunc("POST /control/fail", func(w http.ResponseWriter, _ *http.Request) {
		p.SetFailing(true)
		_, _ = io.WriteString(w, "failing\n")
	})
	mux.HandleFunc("POST /control/recover", func(w http.ResponseWriter, _ *http.Request) {
		p.SetFailing(false)
		_, _ = io.WriteString(w, "healthy\n")
	})
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.logger.Error("fake provider stopped", "err", err)
		}
	}()
	return p, nil
}

// URL is the provider's base URL.
func (p *fakeProvider) URL() string { return "http://" + p.ln.Addr().String() }

// SetFailing makes every call fail with 529 overloaded (true) or succeed again (false).
func (p *fakeProvider) SetFailing(on bool) {
	if p.failing.Swap(on) != on {
		p.logger.Info("fake provider switched", "failing", on)
	}
}

// Close stops the server, waiting at most until ctx ends for calls in flight.
func (p *fakeProvider) Close(ctx context.Context) error { return p.srv.Shutdown(ctx) }

// messageRequest and messageResponse are the part of Anthropic's Messages API the fake speaks.
type messageRequest struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	Messages  []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

type messageResponse struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Model      string `json:"model"`
	StopReason string `json:"stop_reason"`
	Content    []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	Usage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

func (p *fakeProvider) messages(w http.ResponseWriter, r *http.Request) {
	n := p.calls.Add(1)
	var req messageRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	select {
	case <-time.After(p.latency):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if p.failing.Load() {
		w.WriteHeader(529)
		_, _ = io.WriteString(w, overloadedBody)
		return
	}
	var resp messageResponse
	resp.ID, resp.Type, resp.Model, resp.StopReason = fmt.Sprintf("msg_%s_%d", p.name, n), "message", p.model, "end_turn"
	resp.Content = append(resp.Content, struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}{Type: "text", Text: "Hello from " + p.name + "."})
	resp.Usage.InputTokens, resp.Usage.OutputTokens = 12+4*len(req.Messages), 7
	_ = json.NewEncoder(w).Encode(resp)
}
