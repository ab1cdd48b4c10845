package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// watcher is a running outagewatch daemon, built from this module, with its defaults.
type watcher struct {
	*watchertest.Watcher
	apiURL   string // http://127.0.0.1:port
	otlpHTTP string // 127.0.0.1:port
}

// startWatcher builds cmd/watcher, runs it on free ports, and stops it when the test ends. Its
// log is printed if the test fails.
func startWatcher(tb testing.TB) *watcher {
	tb.Helper()
	w := watchertest.StartWatcher(tb, "")
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("watcher log:\n%s", w.Output())
		}
	})
	return &watcher{Watcher: w, apiURL: "http://" + w.API, otlpHTTP: w.OTLPHTTP}
}

func (w *watcher) modelState(ctx context.Context, provider, model string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.apiURL+"/v1/health", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get /v1/health: status %d", resp.StatusCode)
	}
	var rep struct {
		Providers []struct {
			Provider string `json:"provider"`
			Models   []struct {
				Model string `json:"model"`
				State string `json:"state"`
			} `json:"models"`
		} `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return "", fmt.Errorf("decode /v1/health: %w", err)
	}
	for _, p := range rep.Providers {
		for _, m := range p.Models {
			if p.Provider == provider && m.Model == model {
				return m.State, nil
			}
		}
	}
	return "", nil
}
