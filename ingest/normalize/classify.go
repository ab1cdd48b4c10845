package normalize

import (
	"strings"
	"unsafe"

	"github.com/outagewatch/outagewatch/detectors"
)

// ClassFromStatus maps a provider's HTTP status to an error class. 0 and 2xx give ClassNone.
func ClassFromStatus(status int) detectors.ErrorClass {
	switch {
	case status == 429:
		return detectors.ClassRateLimited
	case status == 529 || status == 503:
		return detectors.ClassOverloaded
	case status == 504 || status == 408:
		return detectors.ClassTimeout
	case status == 401 || status == 403:
		return detectors.ClassAuth
	case status >= 400 && status < 500:
		return detectors.ClassClientError
	case status >= 500 && status < 600:
		return detectors.ClassServerError
	}
	return detectors.ClassNone
}

// classPatterns are matched in order against the lowercased error texts; the first class with a
// match wins. Overloaded comes before server error because older SDKs call a 529
// InternalServerError and the 529 only shows in the message. Patterns made of digits match whole
// numbers only.
var classPatterns = []struct {
	class    detectors.ErrorClass
	patterns []string
}{
	{detectors.ClassOverloaded, []string{"529", "overloaded", "serviceunavailable", "service unavailable", "unavailable", "503", "server_is_overloaded"}},
	{detectors.ClassRateLimited, []string{"429", "ratelimit", "rate_limit", "rate limit", "throttling", "resource_exhausted", "slow_down", "insufficient_quota", "too many requests"}},
	{detectors.ClassTimeout, []string{"timeout", "timed out", "deadline_exceeded", "timeout_error", "504", "408", "etimedout"}},
	{detectors.ClassCancelled, []string{"cancellederror", "aborterror", "cancelled", "canceled"}},
	{detectors.ClassAuth, []string{"authentication", "permission", "401", "403", "invalid_api_key", "accessdenied", "unauthorized"}},
	{detectors.ClassNetwork, []string{"apiconnectionerror", "connectionerror", "cannot connect", "remoteprotocolerror", "econnreset", "econnrefused", "und_err_socket", "other side closed", "terminated", "incomplete chunked", "socket hang up", "epipe", "connection reset", "connection refused"}},
	{detectors.ClassClientError, []string{"badrequest", "invalid_request", "notfound", "not_found", "request_too_large", "validation", "unprocessableentity", "400", "404", "413", "422", "blocked_"}},
	{detectors.ClassServerError, []string{"internalserver", "api_error", "internal", "500", "502", "servererror", "server error"}},
}

// classFromText classifies an error from its texts (error.type, exception type and message,
// status description, error.code). It returns ClassOther when nothing matches.
func classFromText(texts ...string) detectors.ErrorClass {
	var buf [1024]byte
	b := buf[:0]
	for _, t := range texts {
		if t == "" {
			continue
		}
		b = appendLower(b, t)
		b = append(b, '\n')
	}
	s := unsafe.String(unsafe.SliceData(b), len(b)) // b does not outlive this call
	if s == "" {
		return detectors.ClassOther
	}
	for _, cp := range classPatterns {
		for _, p := range cp.patterns {
			if containsToken(s, p) {
				return cp.class
			}
		}
	}
	return detectors.ClassOther
}

// appendLower appends strings.ToLower(t) to b, without allocating for ASCII text.
func appendLower(b []byte, t string) []byte {
	for i := 0; i < len(t); i++ {
		if t[i] >= 0x80 {
			return append(b, strings.ToLower(t)...)
		}
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// atoi is strconv.Atoi for the range of int, without the error value it allocates.
func atoi(s string) (int, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || len(s) > 18 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// containsToken reports whether s contains p; a pattern made of digits must stand alone, not
// inside a longer run of letters or digits (so "529" does not match "req_05291").
func containsToken(s, p string) bool {
	if !isDigits(p) {
		return strings.Contains(s, p)
	}
	for i := 0; ; {
		j := strings.Index(s[i:], p)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(p)
		if (start == 0 || !isAlnum(s[start-1])) && (end == len(s) || !isAlnum(s[end])) {
			return true
		}
		i = start + 1
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// statusFromText finds an HTTP status in an error text: "Error code: 529 - {...}" (the Python
// SDKs) or a leading "529 {...}" (the JS SDKs). It returns 0 when there is none.
func statusFromText(s string) int {
	if i := strings.Index(s, "Error code: "); i >= 0 {
		return leadingStatus(s[i+len("Error code: "):])
	}
	return leadingStatus(s)
}

// leadingStatus parses a three-digit HTTP status at the start of s, followed by a non-digit.
func leadingStatus(s string) int {
	if len(s) < 3 || (len(s) > 3 && s[3] >= '0' && s[3] <= '9') {
		return 0
	}
	n := 0
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < 100 || n > 599 {
		return 0
	}
	return n
}

// normalizeFinish maps a finish or stop reason from any provider or instrumentation to its
// normalised value. Unknown values are FinishOther: passed on raw, treated as a normal stop.
func normalizeFinish(raw string) detectors.FinishReason {
	if raw == "" {
		return detectors.FinishNone
	}
	switch strings.ToLower(raw) {
	case "stop", "end_turn", "stop_sequence", "complete", "finish", "endoftext", "completed":
		return detectors.FinishStop
	case "length", "max_tokens", "max_output_tokens", "model_context_window_exceeded":
		return detectors.FinishLength
	case "tool_calls", "tool_call", "tool-calls", "tool_use", "function_call":
		return detectors.FinishTool
	case "content_filter", "content-filter", "refusal", "safety", "recitation", "blocklist",
		"prohibited_content", "spii", "image_safety", "guardrail_intervened", "content_filtered":
		return detectors.FinishFiltered
	case "pause_turn":
		return detectors.FinishPaused
	case "error", "other", "unknown", "finish_reason_unspecified", "unspecified", "malformed_function_call",
		"insufficient_system_resource":
		return detectors.FinishAbnormal
	}
	return detectors.FinishOther
}
