// Package agentlogs turns the OpenTelemetry log events of coding agents (Claude Code, Gemini CLI,
// Codex) into calls. These tools export no LLM spans: each API request they make is a log
// record, and the records that stand for a request, a failed attempt or a cut stream become one
// detectors.Call each (docs/normalisation.md, "Coding agents' log events").
//
// Only what detection needs is read: the event name, the model, a status, a bounded error
// message with email addresses removed, durations, token counts and times. Each developer's
// machine is a caller of its own, under a pseudonym (a hash of its host or user id, never the
// id). Prompts, command lines, user and organisation ids and any other body text are never
// copied.
package agentlogs

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// Conventions of the calls made from each tool's events.
const (
	ConventionClaudeCode = "claude_code"
	ConventionGeminiCLI  = "gemini_cli"
	ConventionCodex      = "codex"
)

// maxField caps the service name and environment, as the span path does.
const maxField = 128

// callerKeys are the attributes whose first present value names a developer's machine, in order;
// the resource is looked at before the record. conversation.id is Codex's session.id.
var callerKeys = []string{"host.id", "host.name", "user.id", "session.id", "conversation.id"}

// Calls appends the calls that the log records of ld stand for (coding agents' events; other
// records are ignored) to out.
func Calls(ld plog.Logs, out []detectors.Call) []detectors.Call {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes()
		service := str(res, "service.name")
		env := str(res, "deployment.environment.name")
		if env == "" {
			env = str(res, "deployment.environment")
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				r := record{lr: lr, attrs: lr.Attributes(), res: res, service: service}
				c, ok := r.call()
				if !ok {
					continue
				}
				c.Service = normalize.CapString(service, maxField)
				c.Environment = normalize.CapString(env, maxField)
				c.ServiceNamespace = r.pseudonym()
				out = append(out, c)
			}
		}
	}
	return out
}

// record is one log record with its resource's attributes.
type record struct {
	lr      plog.LogRecord
	attrs   pcommon.Map
	res     pcommon.Map
	service string
}

// call maps the record to a call, or reports false when it is no event of a call.
func (r *record) call() (detectors.Call, bool) {
	name := r.eventName()
	var c detectors.Call
	var ok bool
	switch {
	case strings.HasPrefix(name, "claude_code."):
		c, ok = r.claudeCode(name[len("claude_code."):])
	case strings.HasPrefix(name, "gemini_cli."):
		c, ok = r.geminiCLI(name[len("gemini_cli."):])
	case strings.HasPrefix(name, "codex."):
		c, ok = r.codex(name[len("codex."):])
	}
	if !ok {
		return c, false
	}
	if c.Model == "" {
		c.Model = detectors.UnknownModel
	}
	c.Time = r.time()
	return c, true
}

// eventName returns the record's event name: the first of the record's EventName, its event.name
// attribute and its body that names a tool's event ("claude_code.api_request"). Claude Code puts
// the full name in the body and "api_request" in event.name; an unqualified name takes the
// prefix of the tool its service.name names.
func (r *record) eventName() string {
	attr := str(r.attrs, "event.name")
	body := ""
	if b := r.lr.Body(); b.Type() == pcommon.ValueTypeStr {
		body = b.Str()
	}
	for _, n := range [...]string{r.lr.EventName(), attr, body} {
		if known(n) {
			return n
		}
	}
	short := r.lr.EventName()
	if short == "" {
		short = attr
	}
	if short == "" || strings.ContainsRune(short, '.') {
		return ""
	}
	switch r.service {
	case "claude-code":
		return "claude_code." + short
	case "gemini-cli":
		return "gemini_cli." + short
	}
	return ""
}

func known(n string) bool {
	return strings.HasPrefix(n, "claude_code.") || strings.HasPrefix(n, "gemini_cli.") ||
		strings.HasPrefix(n, "codex.")
}

// time returns when the event happened: the record's time, else its event.timestamp (RFC 3339;
// Codex leaves the record's time 0), else the time it was observed; the zero time when none is
// set.
func (r *record) time() time.Time {
	if ts := r.lr.Timestamp(); ts != 0 {
		return ts.AsTime()
	}
	if s := str(r.attrs, "event.timestamp"); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC()
		}
	}
	if ts := r.lr.ObservedTimestamp(); ts != 0 {
		return ts.AsTime()
	}
	return time.Time{}
}

// pseudonym names the developer's machine as a caller: "dev-" and the first 8 hex digits of the
// SHA-256 of the first of callerKeys present (resource, then record), "" when none is.
func (r *record) pseudonym() string {
	for _, k := range callerKeys {
		v := str(r.res, k)
		if v == "" {
			v = str(r.attrs, k)
		}
		if v != "" {
			sum := sha256.Sum256([]byte(v))
			return "dev-" + hex.EncodeToString(sum[:4])
		}
	}
	return ""
}

// requestID hashes the parts that identify a logical request; 0 when the last part is empty
// (no id to share).
func requestID(parts ...string) uint64 {
	if len(parts) == 0 || parts[len(parts)-1] == "" {
		return 0
	}
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	if s := h.Sum64(); s != 0 {
		return s
	}
	return 1
}

// str returns the attribute k of m as a string ("" when absent); numbers and booleans are
// formatted.
func str(m pcommon.Map, k string) string {
	v, ok := m.Get(k)
	if !ok {
		return ""
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return v.AsString()
	}
	return ""
}

// num returns the attribute k of m as an integer: an int, a double (truncated) or a decimal
// string ("1234", "12.5"); ok is false when it is absent or not a number.
func num(m pcommon.Map, k string) (int64, bool) {
	v, ok := m.Get(k)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if f != f || f > 1e15 || f < -1e15 {
			return 0, false
		}
		return int64(f), true
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.Str())
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == f && f <= 1e15 && f >= -1e15 {
			return int64(f), true
		}
	}
	return 0, false
}

// millis returns the attribute k of m, a number of milliseconds, as a duration (0 when absent or
// negative).
func millis(m pcommon.Map, k string) time.Duration {
	n, ok := num(m, k)
	if !ok || n <= 0 || n > int64(1<<53) {
		return 0
	}
	return time.Duration(n) * time.Millisecond
}

// status returns the first of the attributes keys of m that is an HTTP status (100 to 599), or 0.
// Claude Code writes "undefined" for errors without one.
func status(m pcommon.Map, keys ...string) int {
	for _, k := range keys {
		if n, ok := num(m, k); ok && n >= 100 && n <= 599 {
			return int(n)
		}
	}
	return 0
}

// positive returns the attribute k of m when it is a positive integer that fits an int, else 0.
func positive(m pcommon.Map, k string) int {
	n, ok := num(m, k)
	if !ok || n <= 0 || n > 1<<30 {
		return 0
	}
	return int(n)
}

// tokens returns the token count k of m, 0 when absent or negative.
func tokens(m pcommon.Map, k string) int64 {
	n, ok := num(m, k)
	if !ok || n < 0 {
		return 0
	}
	return n
}
