package normalize

import (
	"slices"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/hosts"
)

// Normalizer makes the record of each LLM-call span and provider attempt it is shown. It holds
// no state between spans and is safe for concurrent use.
type Normalizer struct {
	// hosts is the configured host table, immutable once stored: SetProviderHosts swaps it
	// while spans are read, each lookup loading it without a lock.
	hosts atomic.Pointer[hostIndex]
}

// New returns a normaliser that knows the provider endpoints of providerHosts (host or
// host:port → provider name) besides the built-in ones.
func New(providerHosts map[string]string) *Normalizer {
	x := &Normalizer{}
	x.SetProviderHosts(providerHosts)
	return x
}

// SetProviderHosts replaces the provider endpoints New was given (the built-in ones stay). It
// is safe to call while spans are read: a span read after it returns sees the new table; one
// read meanwhile sees the old or the new. providerHosts is not retained.
func (x *Normalizer) SetProviderHosts(providerHosts map[string]string) {
	idx := newHostIndex(providerHosts)
	x.hosts.Store(&idx)
}

// AppendSpan appends the Record of an LLM-call span or a provider attempt to recs; other spans
// leave recs as they are. The Record is built in place: records are large. Its strings may
// share those of span, a and res: a decoder that reuses its input must copy them (ingest/wire
// does).
func (x *Normalizer) AppendSpan(recs []Record, span *Span, a *Attrs, scope string, res *Resource) []Record {
	if len(recs) == cap(recs) {
		recs = slices.Grow(recs, 1)
	}
	if x.span(span, a, scope, res, &recs[:len(recs)+1][len(recs)]) {
		recs = recs[:len(recs)+1]
	}
	return recs
}

// span makes a Record in r of an LLM-call span or a provider attempt; it returns false, r
// perhaps written to, for other spans.
func (x *Normalizer) span(span *Span, a *Attrs, scope string, res *Resource, r *Record) bool {
	name := span.Name
	if isLLMSpan(name, a) {
		if skipOperation(name, a) {
			return false
		}
		x.llmRecord(span, a, scope, res, r)
		return true
	}
	if a.has&(1<<kHTTPRequestMethod|1<<kHTTPMethod) == 0 {
		return false
	}
	if k := span.Kind; k != ptrace.SpanKindClient && k != ptrace.SpanKindUnspecified && k != ptrace.SpanKindInternal {
		return false
	}
	host := a.str(kServerAddress)
	if host == "" {
		host = a.str(kNetPeerName)
	}
	rawURL := a.str(kURLFull)
	if rawURL == "" {
		rawURL = a.str(kHTTPURL)
	}
	idx := x.hosts.Load()
	provider := idx.providerOfURL(rawURL)
	if provider == "" && host != "" {
		provider = idx.provider(host)
	}
	if provider != "" {
		attemptRecord(span, a, provider, res, rawURL, host, r)
		return true
	}
	// No known provider's host: an attempt to an LLM API path is kept, unattributed, for the
	// assembler to learn its host from its LLM parent or attribute it from what it learned.
	h, route, ok := llmEndpoint(rawURL)
	if !ok {
		return false
	}
	attemptRecord(span, a, "", res, rawURL, host, r)
	r.Host, r.Route = h, route
	return true
}

// llmEndpoint returns the host[:port] and route (hosts.Route) of rawURL when its path is an LLM
// API endpoint (hosts.IsLLMPath).
func llmEndpoint(rawURL string) (host, route string, ok bool) {
	i := strings.Index(rawURL, "://")
	if i <= 0 {
		return "", "", false
	}
	rest := rawURL[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return "", "", false
	}
	path := rest[j:]
	if k := strings.IndexAny(path, "?#"); k >= 0 {
		path = path[:k]
	}
	if !hosts.IsLLMPath(path) {
		return "", "", false
	}
	host, plain := plainURLHost(rawURL)
	if !plain {
		host = hostOf(rawURL)
	}
	if host == "" {
		return "", "", false
	}
	return CapString(strings.ToLower(host), 128), hosts.Route(path), true
}

// llmMarkerMask has the bits of llmMarkers and openinference.span.kind.
var llmMarkerMask = func() uint64 {
	m := uint64(1) << kOpenInferenceKind
	for _, k := range llmMarkers {
		m |= 1 << uint(k)
	}
	return m
}()

func isLLMSpan(name string, a *Attrs) bool {
	return a.has&llmMarkerMask != 0 || llmName(name)
}

// llmNameStart marks the bytes an LLM span name of llmName can start with.
var llmNameStart = func() (t [256]bool) {
	for _, c := range "ctgeaobmvwlRCM" {
		t[c] = true
	}
	return t
}()

// llmName matches the span names of LLM calls whose spans carry none of the marker keys.
func llmName(name string) bool {
	if name == "" || !llmNameStart[name[0]] {
		return false
	}
	if op, _, ok := strings.Cut(name, " "); ok {
		switch op {
		case "chat", "text_completion", "generate_content", "embeddings":
			return true
		}
	}
	if vendor, _, ok := strings.Cut(name, "."); ok {
		switch vendor {
		case "anthropic", "openai", "bedrock", "cohere", "groq", "mistralai", "ollama", "vertexai", "gemini", "watsonx":
			return true
		case "ai":
			return vercelName(name)
		}
	}
	switch name {
	case "litellm_request", "ChatCompletion", "Completion", "Response", "messages.create", "messages.stream":
		return true
	}
	return strings.HasPrefix(name, "Chat Completion with ") || strings.HasPrefix(name, "Message with ")
}

func vercelName(name string) bool {
	base, suffix, _ := strings.Cut(strings.TrimPrefix(name, "ai."), ".")
	switch base {
	case "generateText", "streamText", "generateObject", "streamObject", "embed", "embedMany":
	default:
		return false
	}
	return suffix == "" || suffix == "doGenerate" || suffix == "doStream" || suffix == "doEmbed"
}

// skipOperation reports LLM-looking spans that are not provider calls: agents, tools,
// retrieval, framework spans, OpenInference chains.
func skipOperation(name string, a *Attrs) bool {
	if NonProviderOperation(a.str(kOperationName)) {
		return true
	}
	if kind := a.str(kOpenInferenceKind); kind != "" && !strings.EqualFold(kind, "LLM") && !strings.EqualFold(kind, "EMBEDDING") {
		return true
	}
	if op := a.str(kAIOperationID); op != "" && !vercelName(op) {
		return true // ai.toolCall and other Vercel spans that are not model calls
	}
	return strings.HasPrefix(name, "ai.") && !vercelName(name) && a.has&(1<<kAIOperationID) == 0 && a.has&(1<<kOperationName) == 0
}

// vercelAttempt reports the Vercel AI SDK's per-attempt spans (ai.*.doGenerate, .doStream,
// .doEmbed), by name or operation ID.
func vercelAttempt(name, opID string) bool {
	for _, s := range [...]string{name, opID} {
		if strings.HasPrefix(s, "ai.") && (strings.HasSuffix(s, ".doGenerate") || strings.HasSuffix(s, ".doStream") || strings.HasSuffix(s, ".doEmbed")) {
			return true
		}
	}
	return false
}

// vercelWrapper reports the Vercel AI SDK's outer spans: the call, whose do* children are its
// attempts.
func vercelWrapper(name string) bool {
	if !strings.HasPrefix(name, "ai.") {
		return false
	}
	_, suffix, _ := strings.Cut(strings.TrimPrefix(name, "ai."), ".")
	return suffix == ""
}

func (x *Normalizer) llmRecord(span *Span, a *Attrs, scope string, res *Resource, r *Record) {
	name := span.Name
	ev := span.events()
	baseRecord(span, res, r)
	r.Wrapper = vercelWrapper(name)
	r.Retry = r.HasParent && vercelAttempt(name, a.str(kAIOperationID))
	c := &r.Call
	c.Source = detectors.SourceLLM
	c.Convention = convention(name, scope, a)
	c.Provider = x.llmProvider(name, a)
	c.Model = llmModel(name, a)
	c.Endpoint = endpoint(a.str(kServerAddress))
	c.Operation = operation(name, a)
	c.Streaming = streaming(name, a)
	c.FinishReasonRaw = finishRaw(a)
	c.FinishReason = normalizeFinish(c.FinishReasonRaw)
	c.TTFT = ttft(&ev, a, c.Streaming)
	c.InputTokens = firstInt(a, kInputTokens, kPromptTokens, kAIInputTokens, kAIPromptTokens, kLLMTokenPrompt)
	c.OutputTokens = firstInt(a, kOutputTokens, kCompletionTokens, kAIOutputTokens, kAICompletionTokens, kLLMTokenCompletion)
	r.OwnStatus = statusOf(a)

	errType := a.str(kErrorType)
	excType, excMsg := ev.ExcType, ev.ExcMsg
	r.Failed = ev.Exception
	if span.StatusCode == ptrace.StatusCodeError || errType != "" {
		r.Failed = true
	}
	if !r.Failed {
		return
	}
	errCode, errMsg := a.str(kErrorCode), a.str(kErrorMessage)
	msg := firstNonEmpty(span.StatusMsg, excMsg, errMsg)
	c.ErrorMessage = CapString(msg, 256)
	r.TextClass = classFromText(errType, excType, excMsg, span.StatusMsg, errCode, errMsg)
	if n, ok := atoi(errCode); ok && n >= 100 && n <= 599 {
		r.TextStatus = n
	} else {
		r.TextStatus = statusFromText(msg)
	}
}

// attemptRecord makes the record of a provider attempt; host is its server.address (else
// net.peer.name), the endpoint when its URL names none.
func attemptRecord(span *Span, a *Attrs, provider string, res *Resource, rawURL, host string, r *Record) {
	baseRecord(span, res, r)
	r.Attempt = true
	r.URLModel = CapString(modelFromURL(rawURL), 128)
	c := &r.Call
	c.Source = detectors.SourceAttempt
	c.Convention = "http"
	c.Provider = provider
	c.Endpoint = urlEndpoint(rawURL)
	if c.Endpoint == "" {
		c.Endpoint = endpoint(host)
	}
	r.OwnStatus = statusOf(a)
	c.HTTPStatus = r.OwnStatus
	errType := a.str(kErrorType)
	r.Failed = span.StatusCode == ptrace.StatusCodeError || errType != "" || r.OwnStatus >= 400
	if r.Failed {
		msg := firstNonEmpty(span.StatusMsg, errType)
		c.ErrorMessage = CapString(msg, 256)
		r.TextClass = classFromText(errType, span.StatusMsg)
	}
}
