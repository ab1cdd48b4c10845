package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// fixed are the attributes whose values name this machine, its user or an account, with the
// fixed values the fixtures carry instead.
var fixed = map[string]string{
	"host.name":          "agent-host",
	"host.id":            "agent-host-id",
	"user.id":            "fake-user-id",
	"user.email":         "agent@example.com",
	"user.account_uuid":  "00000000-0000-0000-0000-000000000000",
	"organization.id":    "00000000-0000-0000-0000-000000000000",
	"process.owner":      "agent",
	"installation.id":    "fake-installation-id",
	"terminal.type":      "dumb",
	"process.command":    "agent",
	"process.executable": "agent",
}

// maxString is the longest string value a fixture keeps whole.
const maxString = 512

// sanitizer replaces this machine's names in attribute values.
type sanitizer struct{ replace *strings.Replacer }

func newSanitizer(tmp string) *sanitizer {
	pairs := []string{tmp, "/tmp/agent"}
	if host, err := os.Hostname(); err == nil && len(host) > 3 {
		pairs = append(pairs, host, "agent-host")
	}
	if home, err := os.UserHomeDir(); err == nil && len(home) > 1 {
		pairs = append(pairs, home, "/home/agent")
	}
	return &sanitizer{strings.NewReplacer(pairs...)}
}

func (s *sanitizer) attrs(m pcommon.Map) {
	m.Range(func(k string, v pcommon.Value) bool {
		if f, ok := fixed[k]; ok {
			v.SetStr(f)
			return true
		}
		s.value(v)
		return true
	})
}

func (s *sanitizer) value(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		str := s.replace.Replace(v.Str())
		if len(str) > maxString {
			// A system prompt or a request's messages: not what a fixture is for.
			str = fmt.Sprintf("%s…(%d bytes elided)", strings.ToValidUTF8(str[:64], ""), len(str)-64)
		}
		v.SetStr(str)
	case pcommon.ValueTypeMap:
		s.attrs(v.Map())
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			s.value(v.Slice().At(i))
		}
	}
}

func (s *sanitizer) logs(l plog.Logs) {
	for i := 0; i < l.ResourceLogs().Len(); i++ {
		rl := l.ResourceLogs().At(i)
		s.attrs(rl.Resource().Attributes())
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				s.attrs(lrs.At(k).Attributes())
				s.value(lrs.At(k).Body())
			}
		}
	}
}

func (s *sanitizer) metrics(m pmetric.Metrics) {
	for i := 0; i < m.ResourceMetrics().Len(); i++ {
		rm := m.ResourceMetrics().At(i)
		s.attrs(rm.Resource().Attributes())
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				s.points(ms.At(k))
			}
		}
	}
}

func (s *sanitizer) points(m pmetric.Metric) {
	switch m.Type() {
	case pmetric.MetricTypeSum:
		for i := 0; i < m.Sum().DataPoints().Len(); i++ {
			s.attrs(m.Sum().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeGauge:
		for i := 0; i < m.Gauge().DataPoints().Len(); i++ {
			s.attrs(m.Gauge().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeHistogram:
		for i := 0; i < m.Histogram().DataPoints().Len(); i++ {
			s.attrs(m.Histogram().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeExponentialHistogram:
		for i := 0; i < m.ExponentialHistogram().DataPoints().Len(); i++ {
			s.attrs(m.ExponentialHistogram().DataPoints().At(i).Attributes())
		}
	}
}

// writeJSON writes logs or metrics as indented OTLP/JSON.
func writeJSON(path string, v any) error {
	var raw []byte
	var err error
	switch t := v.(type) {
	case plog.Logs:
		raw, err = (&plog.JSONMarshaler{}).MarshalLogs(t)
	case pmetric.Metrics:
		raw, err = (&pmetric.JSONMarshaler{}).MarshalMetrics(t)
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", " "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
