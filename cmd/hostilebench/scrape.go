package main

import (
	"strconv"
	"strings"
)

// The daemon's metrics a case reads.
const (
	metricRequests      = "outagewatch_ingest_requests_total"       // {protocol, encoding, result}
	metricSpansAccepted = "outagewatch_ingest_spans_accepted_total" // {protocol}
	metricShed          = "outagewatch_memory_shed_total"
)

// sample is one line of the Prometheus text format.
type sample struct {
	labels map[string]string
	value  float64
}

// samples returns the samples of metric in text (the Prometheus text format). Label values
// with escaped quotes are not expected in the metrics read here and are not unescaped.
func samples(text, metric string) []sample {
	var out []sample
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), metric)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		s := sample{labels: map[string]string{}}
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			for pair := range strings.SplitSeq(rest[1:end], ",") {
				if k, v, ok := strings.Cut(pair, "="); ok {
					s.labels[strings.TrimSpace(k)] = strings.Trim(v, `"`)
				}
			}
			rest = rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// sum adds the values of metric in text.
func sum(text, metric string) int64 {
	var total float64
	for _, s := range samples(text, metric) {
		total += s.value
	}
	return int64(total)
}

// requestsByResult returns the daemon's OTLP requests as "<protocol> <result>" → count.
func requestsByResult(text string) map[string]int64 {
	out := map[string]int64{}
	for _, s := range samples(text, metricRequests) {
		if s.value > 0 {
			out[s.labels["protocol"]+" "+s.labels["result"]] += int64(s.value)
		}
	}
	return out
}
