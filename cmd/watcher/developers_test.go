package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// developer is one engineer's Claude Code on one machine, exporting its log events (no spans)
// to the watcher's OTLP/HTTP /v1/logs, as CLAUDE_CODE_ENABLE_TELEMETRY=1 with
// OTEL_LOGS_EXPORTER=otlp does: an api_request per call, an api_error when its retries ran out.
type developer struct {
	host string
	mu   sync.Mutex
	fail float64
}

func (d *developer) set(fail float64) { d.mu.Lock(); d.fail = fail; d.mu.Unlock() }

// caller is the developer's caller on the health API: a pseudonym of the machine, never its name.
func (d *developer) caller() string {
	sum := sha256.Sum256([]byte(d.host))
	return "service:dev-" + hex.EncodeToString(sum[:4]) + "/claude-code"
}

// export sends rate events a second until stop is closed, each in its own request.
func (d *developer) export(t *testing.T, addr string, rate float64, seed uint64, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(seed, 2))
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		d.mu.Lock()
		fails := rng.Float64() < d.fail
		d.mu.Unlock()
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "claude-code")
		rl.Resource().Attributes().PutStr("host.name", d.host)
		rec := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		rec.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		a := rec.Attributes()
		a.PutStr("model", whoseModel)
		a.PutStr("duration_ms", "1200")
		a.PutStr("request_id", d.host+"-"+strconv.Itoa(n))
		if fails {
			rec.Body().SetStr("claude_code.api_error")
			a.PutStr("event.name", "api_error")
			a.PutStr("error", "Repeated 529 Overloaded errors")
			a.PutInt("attempt", 3)
		} else {
			rec.Body().SetStr("claude_code.api_request")
			a.PutStr("event.name", "api_request")
		}
		body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		if err != nil {
			t.Error(err) // not FailNow: this is not the test's goroutine
			return
		}
		resp, err := http.Post("http://"+addr+"/v1/logs", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			return // the watcher stopped first
		}
		resp.Body.Close()
	}
}

// TestOneDevelopersFailuresAreLocal: three developers run Claude Code against one model at 8
// calls/s each, seen only through their log events. One developer's calls fail (529s, say its
// proxy): the model stays usable, that developer's machine has a local verdict under its
// pseudonym. Then every developer fails: the model is down, the provider's verdict.
func TestOneDevelopersFailuresAreLocal(t *testing.T) {
	t.Parallel()
	w := proc{watchertest.StartWatcher(t, whoseConfig)}
	devs := []*developer{{host: "ada-laptop", fail: 0.01}, {host: "grace-desktop", fail: 0.01}, {host: "linus-vm", fail: 0.01}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Go(func() { d.export(t, w.OTLPHTTP, 8, uint64(i+1), stop) })
	}
	t.Cleanup(func() { close(stop); wg.Wait() })
	w.await(t, 60*time.Second, "the model healthy on the developers' calls", func(r health.Report) bool {
		m, ok := model(r, whoseModel)
		return ok && m.State == "healthy" && m.Baseline.From == "own" && m.Figures.Calls >= 300
	})

	devs[2].set(0.95)
	r := w.await(t, 30*time.Second, "linus-vm's local verdict", func(r health.Report) bool {
		m, _ := model(r, whoseModel)
		l, ok := localOf(m, devs[2].caller())
		return ok && l.State == "down"
	})
	m, _ := model(r, whoseModel)
	require.Equal(t, "healthy", m.State, "one developer failing leaves the model usable for the others")
	require.NotContains(t, w.Output(), "linus-vm", "the machine's name is never logged")

	for _, d := range devs {
		d.set(1)
	}
	w.await(t, 15*time.Second, "the model down for every developer", func(r health.Report) bool {
		m, _ := model(r, whoseModel)
		return m.State == "down"
	})
}
