// Command agentrecord runs a real coding-agent CLI (installed by scripts/agents.sh) headless
// against the fake provider with a fault, receives its OpenTelemetry export with an OTLP/HTTP
// recorder, and writes what it received as OTLP/JSON fixtures, stripped of this machine's
// names:
//
//	OUTAGEWATCH_AGENTS_BIN=$(scripts/agents.sh | tail -n 1) \
//	  go run ./cmd/agentrecord -tool claude -fault 529 -out ingest/agentlogs/testdata
//
// writes <out>/<tool>-<fault>.json (the log records) and, when the CLI sent metrics,
// <out>/<tool>-<fault>.metrics.json. It prints the run's duration, the provider requests and
// the event names to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/outagewatch/outagewatch/internal/fakeprovider"
	"github.com/outagewatch/outagewatch/internal/fakeprovider/agentrun"
	"github.com/outagewatch/outagewatch/internal/otlprecord"
)

func main() {
	tool := flag.String("tool", "claude", "the CLI: claude, gemini or codex")
	faultName := flag.String("fault", "ok", "ok, cut, or an HTTP status for every model call (529, 503, 500, 429)")
	out := flag.String("out", "", "directory for the fixtures (none written when empty)")
	bin := flag.String("bin", os.Getenv("OUTAGEWATCH_AGENTS_BIN"), "directory of the CLIs (scripts/agents.sh prints it)")
	settle := flag.Duration("settle", 2*time.Second, "how long to wait after the CLI exits for late exports")
	protocol := flag.String("protocol", "http/json", "OTLP encoding: http/json or http/protobuf")
	timeout := flag.Duration("timeout", 3*time.Minute, "bound on the CLI's run")
	verbose := flag.Bool("v", false, "print the CLI's output")
	target := flag.String("otlp", "", "OTLP/HTTP base URL to export to instead of the recorder (a watcher: http://127.0.0.1:4318); no fixtures then")
	keep := flag.String("metrics", `api|request|token|sse|error|retr|latency|session\.count|cost|operation\.duration`,
		"regular expression: the metrics a fixture keeps, by name (Codex sends about fifty, most of them about its own start)")
	flag.Parse()
	if *bin == "" {
		log.Fatal("no -bin and no OUTAGEWATCH_AGENTS_BIN: run scripts/agents.sh first")
	}
	fault, err := parseFault(*faultName)
	if err != nil {
		log.Fatal(err)
	}

	fp := fakeprovider.New()
	fp.SetFault(fault)
	provider := httptest.NewServer(fp)
	defer provider.Close()
	rec := otlprecord.New()
	collector := httptest.NewServer(rec)
	defer collector.Close()

	dir, err := os.MkdirTemp("", "agentrecord")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	otlp := collector.URL
	if *target != "" {
		otlp, *out = *target, ""
	}
	res := agentrun.Run(context.Background(), *tool, agentrun.Options{
		Bin: *bin, Provider: provider.URL, OTLP: otlp, Dir: dir, Protocol: *protocol, Timeout: *timeout,
	})
	time.Sleep(*settle)
	fmt.Fprintf(os.Stderr, "agentrecord: %s %s: exit %v after %.1f s\n", *tool, fault, res.Err, res.Duration.Seconds())
	if *verbose || res.Err != nil && fault.Status == 0 && !fault.Cut {
		fmt.Fprintf(os.Stderr, "--- output\n%s---\n", res.Output)
	}
	for _, r := range fp.Requests() {
		fmt.Fprintf(os.Stderr, "  provider: +%5.1fs %s %s %s stream=%v -> %d\n", r.Time.Sub(fp.Requests()[0].Time).Seconds(), r.Method, r.Path, r.Model, r.Stream, r.Status)
	}
	fmt.Fprintf(os.Stderr, "  otlp requests: %v\n", rec.Requests())
	fmt.Fprintf(os.Stderr, "  log events: %s\n", counts(rec.LogEventNames()))
	fmt.Fprintf(os.Stderr, "  metrics: %s\n", strings.Join(metricNames(rec), ", "))

	if *out == "" {
		return
	}
	s := newSanitizer(dir)
	base := filepath.Join(*out, *tool+"-"+fault.String())
	logs := rec.Logs()
	s.logs(logs)
	if err := writeJSON(base+".json", logs); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "agentrecord: wrote %s.json\n", base)
	if metrics := rec.Metrics(); metrics.ResourceMetrics().Len() > 0 {
		re, err := regexp.Compile(*keep)
		if err != nil {
			log.Fatalf("-metrics: %v", err)
		}
		keepMetrics(metrics, re)
		s.metrics(metrics)
		if err := writeJSON(base+".metrics.json", metrics); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "agentrecord: wrote %s.metrics.json\n", base)
	}
}

func parseFault(name string) (fakeprovider.Fault, error) {
	switch name {
	case "ok":
		return fakeprovider.Fault{}, nil
	case "cut":
		return fakeprovider.Fault{Cut: true}, nil
	}
	code, err := strconv.Atoi(name)
	if err != nil || code < 400 || code > 599 {
		return fakeprovider.Fault{}, fmt.Errorf("-fault %q: want ok, cut or an HTTP error status", name)
	}
	return fakeprovider.Fault{Status: code}, nil
}

// counts formats names as "name×count" in order of first appearance.
func counts(names []string) string {
	n := map[string]int{}
	var order []string
	for _, name := range names {
		if n[name] == 0 {
			order = append(order, name)
		}
		n[name]++
	}
	parts := make([]string, len(order))
	for i, name := range order {
		parts[i] = fmt.Sprintf("%s×%d", name, n[name])
	}
	return strings.Join(parts, ", ")
}

func metricNames(rec *otlprecord.Recorder) []string {
	m := rec.Metrics()
	seen := map[string]bool{}
	for i := 0; i < m.ResourceMetrics().Len(); i++ {
		sms := m.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				seen[ms.At(k).Name()] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// keepMetrics removes the metrics whose names do not match re.
func keepMetrics(m pmetric.Metrics, re *regexp.Regexp) {
	for i := 0; i < m.ResourceMetrics().Len(); i++ {
		sms := m.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sms.At(j).Metrics().RemoveIf(func(x pmetric.Metric) bool { return !re.MatchString(x.Name()) })
		}
		sms.RemoveIf(func(sm pmetric.ScopeMetrics) bool { return sm.Metrics().Len() == 0 })
	}
}
