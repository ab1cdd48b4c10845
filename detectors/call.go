package detectors

import (
	"time"
)

// Outcome is how one LLM call ended, as seen from its spans.
type Outcome uint8

// Outcomes. The zero value is OutcomeOK.
const (
	// OutcomeOK is a call that ended normally. A stop at the caller's max_tokens limit is OK: the
	// caller asked for it.
	OutcomeOK Outcome = iota
	// OutcomeError is a call that failed before any output: 5xx, 529, 429, timeouts, network
	// errors, client errors. ErrorClass says which.
	OutcomeError
	// OutcomeTruncated is a call whose output began and then ended abnormally: a stream with no
	// finish reason, an error event inside a 200 stream, finish reason "error".
	OutcomeTruncated
	// OutcomeIncomplete is a call whose end was never seen: its LLM span never arrived although
	// its HTTP attempt did, in a service whose attempts normally have one.
	OutcomeIncomplete
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "error", "truncated", "incomplete"}

// String returns the outcome's label value: ok, error, truncated or incomplete.
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "invalid"
}

// Outcomes lists every outcome, for pre-creating label values.
func Outcomes() []Outcome {
	return []Outcome{OutcomeOK, OutcomeError, OutcomeTruncated, OutcomeIncomplete}
}

// ErrorClass says why a call failed. The zero value, ClassNone, is a call with no error.
type ErrorClass uint8

// Error classes. docs/normalisation.md ("Error classes") says which statuses and error
// types map to each; docs/detection.md which ones count as provider faults.
const (
	ClassNone ErrorClass = iota
	// ClassOverloaded is 529, 503 and overloaded_error: the provider cannot take the load.
	ClassOverloaded
	// ClassRateLimited is 429 and throttling: usually scoped to an account, not an outage.
	ClassRateLimited
	// ClassServerError is any other 5xx.
	ClassServerError
	// ClassTimeout is a client or gateway timeout (408, 504, deadline exceeded).
	ClassTimeout
	// ClassNetwork is a connection error: refused, reset, TLS, a cut socket.
	ClassNetwork
	// ClassClientError is a 4xx that is the caller's fault (400, 404, 413, 422): not a provider
	// signal.
	ClassClientError
	// ClassAuth is 401 and 403: a bad key, not a provider outage.
	ClassAuth
	// ClassCancelled is a call the client aborted: excluded from the error rate.
	ClassCancelled
	// ClassOther is an error we could not classify.
	ClassOther
	numClasses
)

var classNames = [numClasses]string{
	"", "overloaded", "rate_limited", "server_error", "timeout", "network", "client_error", "auth",
	"cancelled", "other",
}

// String returns the class's label value, or "" for ClassNone.
func (c ErrorClass) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "invalid"
}

// ErrorClasses lists every class but ClassNone, for pre-creating label values.
func ErrorClasses() []ErrorClass {
	out := make([]ErrorClass, 0, numClasses-1)
	for c := ClassOverloaded; c < numClasses; c++ {
		out = append(out, c)
	}
	return out
}

// ProviderFault reports whether the class counts towards a provider's error rate. Client errors,
// auth errors and cancellations are the caller's doing; rate limits have their own detector.
func (c ErrorClass) ProviderFault() bool {
	switch c {
	case ClassOverloaded, ClassServerError, ClassTimeout, ClassNetwork, ClassOther:
		return true
	}
	return false
}

// FinishReason is the normalised reason a generation stopped.
type FinishReason uint8

// Finish reasons, normalised from every provider's and instrumentation's vocabulary.
const (
	// FinishNone means no finish reason was reported.
	FinishNone FinishReason = iota
	FinishStop
	// FinishLength is a stop at the caller's token limit (length, max_tokens, MAX_TOKENS): ok.
	FinishLength
	FinishTool
	FinishFiltered
	// FinishPaused is Anthropic's pause_turn: the caller must continue the turn.
	FinishPaused
	// FinishAbnormal is error, other, unknown, unspecified: the stream did not end well.
	FinishAbnormal
	// FinishOther is a value we do not know; it is passed on raw and treated as a normal stop.
	FinishOther
	numFinish
)

var finishNames = [numFinish]string{"", "stop", "length", "tool", "filtered", "paused", "abnormal", "other"}

// String returns the normalised name, or "" for FinishNone.
func (f FinishReason) String() string {
	if f < numFinish {
		return finishNames[f]
	}
	return "invalid"
}

// Source says which kind of span a call was read from.
type Source uint8

const (
	// SourceLLM is an LLM-call span (GenAI semantic conventions or one of the instrumentations
	// that predate them), possibly with its HTTP attempts folded in.
	SourceLLM Source = iota
	// SourceAttempt is a call derived from provider HTTP attempt spans alone, because its LLM
	// span never arrived.
	SourceAttempt
)

// String returns "llm" or "attempt".
func (s Source) String() string {
	if s == SourceAttempt {
		return "attempt"
	}
	return "llm"
}

// Model names with a meaning of their own.
const (
	// UnknownModel is the model of a call whose model no span told (an HTTP attempt alone).
	UnknownModel = "unknown"
	// OtherModel collects the models of a provider beyond the cap on models tracked.
	OtherModel = "other"
	// OtherProvider collects providers beyond the cap on providers tracked.
	OtherProvider = "other"
	// UnknownProvider is the provider of an LLM span that names none.
	UnknownProvider = "unknown"
)

// SeriesKey names one series: a provider and a model. A provider-level series has Model "".
// A local verdict's key also names its Caller: the model as that one caller sees it, while the
// model's own series stays the provider's verdict (issue 18).
type SeriesKey struct {
	Provider string
	Model    string
	Caller   Caller
}

// String returns "provider/model", "provider" for a provider-level key, and
// "provider/model for service:batch-jobs" for a local verdict's.
func (k SeriesKey) String() string {
	s := k.Provider
	if k.Model != "" {
		s += "/" + k.Model
	}
	if !k.Caller.IsZero() {
		s += " for " + k.Caller.String()
	}
	return s
}

// Own returns the key of the series a local verdict's key belongs to (Caller cleared).
func (k SeriesKey) Own() SeriesKey { return SeriesKey{Provider: k.Provider, Model: k.Model} }

// Call is one logical LLM request as ingest saw it: one LLM-call span with the HTTP attempts made
// under it folded in, or the attempts alone when the LLM span never came.
//
// Calls are values; receivers may keep them. Strings are shared, never mutated.
type Call struct {
	// Time is when the call ended (the span's end time).
	Time time.Time
	// Provider is normalised: anthropic, openai, gcp.gemini, gcp.vertex_ai, aws.bedrock, ...
	Provider string
	// Model is the requested model (the responded one when no request model was given),
	// UnknownModel or OtherModel.
	Model string
	// Operation is chat, text_completion, embeddings, generate_content, ... ("" if unknown).
	Operation string
	Outcome   Outcome
	// ErrorClass is set for OutcomeError, and for truncated calls when the cause is known.
	ErrorClass ErrorClass
	// HTTPStatus is the provider's HTTP status where known (from an attempt span or the LLM
	// span itself), else 0.
	HTTPStatus int
	Duration   time.Duration
	// TTFT is the time to the first chunk of a stream, 0 when unknown.
	TTFT      time.Duration
	Streaming bool
	// FinishReason is normalised; FinishReasonRaw is the value as the span carried it.
	FinishReason    FinishReason
	FinishReasonRaw string
	InputTokens     int64
	OutputTokens    int64
	// Service is the resource's service.name; ServiceNamespace and Environment its
	// service.namespace and deployment.environment(.name), "" when absent. Together they name
	// the calling service (ServiceCaller).
	Service          string
	ServiceNamespace string
	Environment      string
	// Endpoint is the provider endpoint host the call went to (server.address of the LLM span,
	// else the host of its HTTP attempts), lower case, "" when no span named it.
	Endpoint string
	// Convention names the instrumentation that shaped the span: genai, genai_legacy,
	// openllmetry, openllmetry_legacy, openlit, vercel_ai, openinference, litellm, spring_ai,
	// anthropic_sdk, http.
	Convention string
	Source     Source
	// Attempts is the number of provider HTTP attempts seen for this request (0 when the
	// application exports no HTTP client spans); FailedAttempts how many of them failed.
	Attempts       int
	FailedAttempts int
	// AttemptClass is the error class of the last failed attempt (ClassNone when none failed):
	// what the retries behind a successful call ran into.
	AttemptClass ErrorClass
	// RequestID identifies the logical request that retries share: a hash of the trace ID and
	// the parent span ID of the call's span.
	RequestID uint64
	// ErrorMessage is a sample error message, capped in length; "" when the call succeeded.
	ErrorMessage string
	// Weight is the number of calls this one stands for when the traces were head-sampled (its
	// adjusted count, from the span's tracestate `ot=th:`); 0 means 1. Call rates use it;
	// the detectors' statistics do not: a sampled call is one trial (docs/detection.md).
	Weight float64
}

// AdjustedCount is the number of calls c stands for: its Weight, at least 1.
func (c *Call) AdjustedCount() float64 {
	if c.Weight > 1 {
		return c.Weight
	}
	return 1
}

// ServiceCaller names the calling service for the per-caller verdict: service.name, prefixed by
// "namespace/" and followed by " (environment)" where those are present.
func (c *Call) ServiceCaller() string {
	name := c.Service
	if c.ServiceNamespace != "" {
		name = c.ServiceNamespace + "/" + name
	}
	if c.Environment != "" {
		name += " (" + c.Environment + ")"
	}
	return name
}

// Series returns the call's (provider, model) key.
func (c *Call) Series() SeriesKey { return SeriesKey{Provider: c.Provider, Model: c.Model} }
