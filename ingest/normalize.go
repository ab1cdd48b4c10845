package ingest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/outagewatch/outagewatch/detectors"
)

// spanKey identifies a span across requests: its trace ID and span ID.
type spanKey [24]byte

func makeKey(t pcommon.TraceID, s pcommon.SpanID) spanKey {
	var k spanKey
	copy(k[:16], t[:])
	copy(k[16:], s[:])
	return k
}

// record is what extraction keeps of one interesting span: an LLM-call span or a provider HTTP
// attempt. The assembler turns records into calls.
type record struct {
	attempt bool
	// wrapper marks an LLM span that is never the provider call itself (Vercel's outer spans).
	wrapper bool
	self    spanKey
	parent  spanKey
	// hasParent is false for root spans.
	hasParent bool
	start     int64 // unix nanoseconds
	end       int64

	// failed: the span's status is ERROR, it has error.type or an exception event; for an
	// attempt, also a status >= 400.
	failed bool
	// ownStatus is the HTTP status the span itself carries; textStatus one parsed from its error
	// texts or error.code.
	ownStatus  int
	textStatus int
	// textClass is the error class read from the span's error texts (ClassNone when it did not
	// fail).
	textClass detectors.ErrorClass

	// urlModel is the model an attempt's URL names (Gemini, Vertex, Bedrock).
	urlModel string

	call detectors.Call
}

// key ids of the attributes extraction reads.
const (
	kProviderName = iota
	kSystem
	kAIModelProvider
	kLLMProvider
	kLLMSystem
	kErrorLLMProvider
	kRequestModel
	kAIModelID
	kLLMRequestModelName
	kLLMModelName
	kResponseModel
	kAIResponseModel
	kLLMResponseModelName
	kOperationName
	kLLMRequestType
	kAIOperationID
	kRequestStream
	kIsStreaming
	kLLMIsStreaming
	kRequestIsStream
	kSpringStream
	kInvocationParams
	kFinishReasons
	kAIResponseFinishReason
	kAIFinishReason
	kLLMFinishReason
	kAnthropicStopReason
	kTTFCSeconds
	kServerTTFTSeconds
	kAIMsToFirstChunk
	kAIStreamMsToFirstChunk
	kInputTokens
	kPromptTokens
	kOutputTokens
	kCompletionTokens
	kAIInputTokens
	kAIPromptTokens
	kAIOutputTokens
	kAICompletionTokens
	kLLMTokenPrompt
	kLLMTokenCompletion
	kHTTPResponseStatus
	kHTTPStatusCode
	kErrorCode
	kErrorType
	kErrorMessage
	kServerAddress
	kNetPeerName
	kOpenAIAPIBase
	kURLFull
	kHTTPURL
	kHTTPRequestMethod
	kHTTPMethod
	kOpenInferenceKind
	kTelemetrySDKName
	kGenAISDKVersion
	numKeys
)

var keyIDs = map[string]int{
	"gen_ai.provider.name":                kProviderName,
	"gen_ai.system":                       kSystem,
	"ai.model.provider":                   kAIModelProvider,
	"llm.provider":                        kLLMProvider,
	"llm.system":                          kLLMSystem,
	"error.llm_provider":                  kErrorLLMProvider,
	"gen_ai.request.model":                kRequestModel,
	"ai.model.id":                         kAIModelID,
	"llm.request.model_name":              kLLMRequestModelName,
	"llm.model_name":                      kLLMModelName,
	"gen_ai.response.model":               kResponseModel,
	"ai.response.model":                   kAIResponseModel,
	"llm.response.model_name":             kLLMResponseModelName,
	"gen_ai.operation.name":               kOperationName,
	"llm.request.type":                    kLLMRequestType,
	"ai.operationId":                      kAIOperationID,
	"gen_ai.request.stream":               kRequestStream,
	"gen_ai.is_streaming":                 kIsStreaming,
	"llm.is_streaming":                    kLLMIsStreaming,
	"gen_ai.request.is_stream":            kRequestIsStream,
	"spring.ai.chat.client.stream":        kSpringStream,
	"llm.invocation_parameters":           kInvocationParams,
	"gen_ai.response.finish_reasons":      kFinishReasons,
	"ai.response.finishReason":            kAIResponseFinishReason,
	"ai.finishReason":                     kAIFinishReason,
	"llm.finish_reason":                   kLLMFinishReason,
	"anthropic.message.stop_reason":       kAnthropicStopReason,
	"gen_ai.response.time_to_first_chunk": kTTFCSeconds,
	"gen_ai.server.time_to_first_token":   kServerTTFTSeconds,
	"ai.response.msToFirstChunk":          kAIMsToFirstChunk,
	"ai.stream.msToFirstChunk":            kAIStreamMsToFirstChunk,
	"gen_ai.usage.input_tokens":           kInputTokens,
	"gen_ai.usage.prompt_tokens":          kPromptTokens,
	"gen_ai.usage.output_tokens":          kOutputTokens,
	"gen_ai.usage.completion_tokens":      kCompletionTokens,
	"ai.usage.inputTokens":                kAIInputTokens,
	"ai.usage.promptTokens":               kAIPromptTokens,
	"ai.usage.outputTokens":               kAIOutputTokens,
	"ai.usage.completionTokens":           kAICompletionTokens,
	"llm.token_count.prompt":              kLLMTokenPrompt,
	"llm.token_count.completion":          kLLMTokenCompletion,
	"http.response.status_code":           kHTTPResponseStatus,
	"http.status_code":                    kHTTPStatusCode,
	"error.code":                          kErrorCode,
	"error.type":                          kErrorType,
	"error.message":                       kErrorMessage,
	"server.address":                      kServerAddress,
	"net.peer.name":                       kNetPeerName,
	"gen_ai.openai.api_base":              kOpenAIAPIBase,
	"url.full":                            kURLFull,
	"http.url":                            kHTTPURL,
	"http.request.method":                 kHTTPRequestMethod,
	"http.method":                         kHTTPMethod,
	"openinference.span.kind":             kOpenInferenceKind,
	"telemetry.sdk.name":                  kTelemetrySDKName,
	"gen_ai.sdk.version":                  kGenAISDKVersion,
}

// keyTable is a perfect hash of keyIDs: every key of keyIDs has a slot of its own, so a lookup
// is a hash of a few bytes and one string comparison (a map lookup hashes the whole key).
var keyTable, keyMul = buildKeyTable()

const keyTableBits = 8

type keyEntry struct {
	key string
	id  int
}

func keyHash(k string, mul uint64) uint64 {
	n := len(k)
	x := uint64(n) | uint64(k[n-1])<<8 | uint64(k[n-2])<<16 | uint64(k[n/2])<<24 | uint64(k[n/3])<<32 | uint64(k[0])<<40
	return (x * mul) >> (64 - keyTableBits)
}

// buildKeyTable finds a multiplier under which keyHash gives every key its own slot.
func buildKeyTable() (*[1 << keyTableBits]keyEntry, uint64) {
	mul := uint64(0x9E3779B97F4A7C15)
search:
	for try := 0; try < 100_000; try, mul = try+1, mul+0x5851F42D4C957F2E {
		t := new([1 << keyTableBits]keyEntry)
		for k, id := range keyIDs {
			e := &t[keyHash(k, mul|1)]
			if e.key != "" {
				continue search
			}
			*e = keyEntry{key: k, id: id}
		}
		return t, mul | 1
	}
	panic("ingest: no perfect hash for the attribute keys")
}

// keyID is keyIDs[k], or -1.
func keyID(k string) int {
	if len(k) < 2 {
		return -1
	}
	if e := &keyTable[keyHash(k, keyMul)]; e.key == k {
		return e.id
	}
	return -1
}

// llmMarkers are the keys whose presence makes a span an LLM-call span.
var llmMarkers = [...]int{kOperationName, kProviderName, kSystem, kRequestModel, kLLMRequestType, kAIOperationID, kAIModelProvider, kLLMModelName}

// spanAttrs holds the values of the keys extraction reads from one span.
type spanAttrs struct {
	has uint64
	// vals holds the keys' values; vals[numKeys] is a legacy OpenLLMetry
	// gen_ai.completion.N.finish_reason value (when hasCompletion).
	vals          [numKeys + 1]attrValue
	hasCompletion bool
	springKeys    bool
}

// completionSlot is the index in spanAttrs.vals of the gen_ai.completion.N.finish_reason value.
const completionSlot = numKeys

func (a *spanAttrs) get(k int) (*attrValue, bool) {
	if a.has&(1<<uint(k)) == 0 {
		return nil, false
	}
	return &a.vals[k], true
}

func (a *spanAttrs) str(k int) string {
	v, ok := a.get(k)
	if !ok {
		return ""
	}
	return v.asString()
}

func (a *spanAttrs) reset() {
	a.has = 0
	a.hasCompletion = false
	a.springKeys = false
}

// slot classifies an attribute key: the index in vals its value goes to, or -1 when the value
// is not needed. Keys must be offered in their order in the span.
func (a *spanAttrs) slot(k string) int {
	if id := keyID(k); id >= 0 {
		a.has |= 1 << uint(id)
		return id
	}
	switch {
	case len(k) == 0:
	case k[0] == 'g' && strings.HasPrefix(k, "gen_ai.completion.") && strings.HasSuffix(k, ".finish_reason"):
		if !a.hasCompletion || k == "gen_ai.completion.0.finish_reason" {
			a.hasCompletion = true
			return completionSlot
		}
	case k[0] == 's' && strings.HasPrefix(k, "spring.ai."):
		a.springKeys = true
	}
	return -1
}

func (a *spanAttrs) read(m pcommon.Map) {
	a.reset()
	for k, v := range m.All() {
		if id := a.slot(k); id >= 0 {
			a.vals[id].setPcommon(v)
		}
	}
}

// extractor reads one request's spans into records. It holds no state between requests and is
// safe for concurrent use.
type extractor struct {
	hosts hostIndex
}

// batchResult is one request's extraction: the records, and the counts ingest reports.
type batchResult struct {
	records  []record
	spans    int
	rejected int
	// rejectMsg says why the first rejected span was rejected (for partial success).
	rejectMsg string
}

// extract reads every span of td. Spans with invalid IDs or an end before their start are
// rejected (counted, and reported through OTLP partial success); other spans that are neither
// LLM calls nor provider attempts are skipped after a look at their name and attribute keys.
func (x *extractor) extract(td ptrace.Traces) batchResult {
	res := batchResult{records: getRecords()}
	var attrs spanAttrs
	var sd spanData
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			service = capString(v.AsString(), 128)
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := ss.Scope().Name()
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				res.spans++
				span := spans.At(k)
				if span.TraceID().IsEmpty() || span.SpanID().IsEmpty() {
					res.reject("span with an empty trace or span ID")
					continue
				}
				if span.EndTimestamp() < span.StartTimestamp() {
					res.reject("span ends before it starts")
					continue
				}
				attrs.read(span.Attributes())
				sd.fromPdata(span)
				res.records = x.appendSpan(res.records, &sd, &attrs, scope, service)
			}
		}
	}
	return res
}

// recordPool recycles the record slices of requests: the pipeline returns them once the
// assembler has read them (records are large; allocating them per request was most of the fast
// path's garbage).
var recordPool sync.Pool

// maxPooledRecords bounds the slices kept for reuse.
const maxPooledRecords = 8192

func getRecords() []record {
	if p, ok := recordPool.Get().(*[]record); ok {
		return (*p)[:0]
	}
	return nil
}

// putRecords gives recs back for reuse; the caller must not touch them afterwards. The stale
// records a pooled slice holds keep only interned strings and capped error messages alive.
func putRecords(recs []record) {
	if cap(recs) == 0 || cap(recs) > maxPooledRecords {
		return
	}
	recordPool.Put(&recs)
}

func (res *batchResult) reject(msg string) {
	res.rejected++
	if res.rejectMsg == "" {
		res.rejectMsg = msg
	}
}

// appendSpan appends the record of an LLM-call span or a provider attempt to recs; other spans
// leave recs as they are. The record is built in place: records are large.
func (x *extractor) appendSpan(recs []record, span *spanData, a *spanAttrs, scope, service string) []record {
	if len(recs) == cap(recs) {
		recs = slices.Grow(recs, 1)
	}
	if x.span(span, a, scope, service, &recs[:len(recs)+1][len(recs)]) {
		recs = recs[:len(recs)+1]
	}
	return recs
}

// span makes a record in r of an LLM-call span or a provider attempt; it returns false, r
// perhaps written to, for other spans.
func (x *extractor) span(span *spanData, a *spanAttrs, scope, service string, r *record) bool {
	name := span.name
	if isLLMSpan(name, a) {
		if skipOperation(name, a) {
			return false
		}
		x.llmRecord(span, a, scope, service, r)
		return true
	}
	if a.has&(1<<kHTTPRequestMethod|1<<kHTTPMethod) == 0 {
		return false
	}
	if k := span.kind; k != ptrace.SpanKindClient && k != ptrace.SpanKindUnspecified && k != ptrace.SpanKindInternal {
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
	provider := x.hosts.providerOfURL(rawURL)
	if provider == "" && host != "" {
		provider = x.hosts.provider(host)
	}
	if provider == "" {
		return false
	}
	attemptRecord(span, a, provider, service, rawURL, r)
	return true
}

// llmMarkerMask has the bits of llmMarkers and openinference.span.kind.
var llmMarkerMask = func() uint64 {
	m := uint64(1) << kOpenInferenceKind
	for _, k := range llmMarkers {
		m |= 1 << uint(k)
	}
	return m
}()

func isLLMSpan(name string, a *spanAttrs) bool {
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
func skipOperation(name string, a *spanAttrs) bool {
	switch a.str(kOperationName) {
	case "execute_tool", "invoke_agent", "create_agent", "invoke_workflow", "retrieval", "plan", "framework":
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

// vercelWrapper reports the Vercel AI SDK's outer spans: their do* children are the calls.
func vercelWrapper(name string) bool {
	if !strings.HasPrefix(name, "ai.") {
		return false
	}
	_, suffix, _ := strings.Cut(strings.TrimPrefix(name, "ai."), ".")
	return suffix == ""
}

func baseRecord(span *spanData, service string, r *record) {
	*r = record{
		self:  makeKey(span.traceID, span.spanID),
		start: int64(span.start),
		end:   int64(span.end),
	}
	if p := span.parentID; !p.IsEmpty() {
		r.parent = makeKey(span.traceID, p)
		r.hasParent = true
	}
	r.call.Time = time.Unix(0, r.end).UTC()
	r.call.Duration = time.Duration(r.end - r.start)
	r.call.Service = service
	r.call.RequestID = requestID(span.traceID, span.parentID, span.spanID)
}

// requestID hashes the logical request a span belongs to: its trace and parent span, or the
// span itself when it is a root.
func requestID(t pcommon.TraceID, parent, self pcommon.SpanID) uint64 {
	// FNV-1a, 64 bits.
	h := uint64(14695981039346656037)
	for _, c := range t {
		h = (h ^ uint64(c)) * 1099511628211
	}
	s := parent
	if s.IsEmpty() {
		s = self
	}
	for _, c := range s {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

func (x *extractor) llmRecord(span *spanData, a *spanAttrs, scope, service string, r *record) {
	name := span.name
	ev := span.events()
	baseRecord(span, service, r)
	r.wrapper = vercelWrapper(name)
	c := &r.call
	c.Source = detectors.SourceLLM
	c.Convention = convention(name, scope, a)
	c.Provider = x.llmProvider(name, a)
	c.Model = llmModel(name, a)
	c.Operation = operation(name, a)
	c.Streaming = streaming(name, a)
	c.FinishReasonRaw = finishRaw(a)
	c.FinishReason = normalizeFinish(c.FinishReasonRaw)
	c.TTFT = ttft(&ev, a, c.Streaming)
	c.InputTokens = firstInt(a, kInputTokens, kPromptTokens, kAIInputTokens, kAIPromptTokens, kLLMTokenPrompt)
	c.OutputTokens = firstInt(a, kOutputTokens, kCompletionTokens, kAIOutputTokens, kAICompletionTokens, kLLMTokenCompletion)
	r.ownStatus = statusOf(a)

	errType := a.str(kErrorType)
	excType, excMsg := ev.excType, ev.excMsg
	r.failed = ev.exception
	if span.statusCode == ptrace.StatusCodeError || errType != "" {
		r.failed = true
	}
	if !r.failed {
		return
	}
	errCode, errMsg := a.str(kErrorCode), a.str(kErrorMessage)
	msg := firstNonEmpty(span.statusMsg, excMsg, errMsg)
	c.ErrorMessage = capString(msg, 256)
	r.textClass = classFromText(errType, excType, excMsg, span.statusMsg, errCode, errMsg)
	if n, ok := atoi(errCode); ok && n >= 100 && n <= 599 {
		r.textStatus = n
	} else {
		r.textStatus = statusFromText(msg)
	}
}

func attemptRecord(span *spanData, a *spanAttrs, provider, service, rawURL string, r *record) {
	baseRecord(span, service, r)
	r.attempt = true
	r.urlModel = capString(modelFromURL(rawURL), 128)
	c := &r.call
	c.Source = detectors.SourceAttempt
	c.Convention = "http"
	c.Provider = provider
	r.ownStatus = statusOf(a)
	c.HTTPStatus = r.ownStatus
	errType := a.str(kErrorType)
	r.failed = span.statusCode == ptrace.StatusCodeError || errType != "" || r.ownStatus >= 400
	if r.failed {
		msg := firstNonEmpty(span.statusMsg, errType)
		c.ErrorMessage = capString(msg, 256)
		r.textClass = classFromText(errType, span.statusMsg)
	}
}

func statusOf(a *spanAttrs) int {
	for _, k := range [...]int{kHTTPResponseStatus, kHTTPStatusCode} {
		if n, ok := intValue(a, k); ok && n >= 100 && n <= 599 {
			return int(n)
		}
	}
	return 0
}

func (x *extractor) llmProvider(name string, a *spanAttrs) string {
	for _, k := range [...]int{kProviderName, kSystem, kAIModelProvider, kLLMProvider, kLLMSystem, kErrorLLMProvider} {
		if p := normalizeProvider(a.str(k)); p != "" {
			return p
		}
	}
	if vendor, _, ok := strings.Cut(name, "."); ok && vendor != "ai" {
		if p := normalizeProvider(vendor); p != "" && llmName(name) {
			return p
		}
	}
	if p := x.hosts.provider(a.str(kServerAddress)); p != "" {
		return p
	}
	if p := x.hosts.providerOfURL(a.str(kOpenAIAPIBase)); p != "" {
		return p
	}
	return "unknown"
}

func llmModel(name string, a *spanAttrs) string {
	for _, k := range [...]int{kRequestModel, kAIModelID, kLLMRequestModelName, kLLMModelName, kResponseModel, kAIResponseModel, kLLMResponseModelName} {
		if m := a.str(k); m != "" && m != "none" {
			return capString(m, 128)
		}
	}
	if op, model, ok := strings.Cut(name, " "); ok && model != "" {
		switch op {
		case "chat", "text_completion", "generate_content", "embeddings":
			return capString(model, 128)
		}
	}
	return detectors.UnknownModel
}

func operation(name string, a *spanAttrs) string {
	op := a.str(kOperationName)
	if op == "" {
		op = a.str(kLLMRequestType)
	}
	if op == "" {
		switch kind := a.str(kOpenInferenceKind); {
		case strings.EqualFold(kind, "LLM"):
			return "chat"
		case strings.EqualFold(kind, "EMBEDDING"):
			return "embeddings"
		}
		if vop := a.str(kAIOperationID); vop != "" {
			name = vop
		}
		if strings.HasPrefix(name, "ai.") {
			if strings.HasPrefix(name, "ai.embed") {
				return "embeddings"
			}
			return "chat"
		}
		if first, _, ok := strings.Cut(name, " "); ok {
			op = first
		} else if _, after, ok := strings.Cut(name, "."); ok {
			op = after
		}
	}
	switch op = strings.ToLower(op); op {
	case "completion", "acompletion", "messages", "messages.create", "messages.stream", "converse":
		return "chat"
	case "embedding", "aembedding":
		return "embeddings"
	case "chat", "text_completion", "embeddings", "generate_content":
		return op
	}
	return capString(op, 32)
}

func streaming(name string, a *spanAttrs) bool {
	for _, k := range [...]int{kRequestStream, kIsStreaming, kLLMIsStreaming, kRequestIsStream, kSpringStream} {
		if v, ok := a.get(k); ok {
			return v.boolValue()
		}
	}
	if v := a.str(kInvocationParams); v != "" {
		var p struct {
			Stream bool `json:"stream"`
		}
		if json.Unmarshal([]byte(v), &p) == nil && p.Stream {
			return true
		}
	}
	return strings.HasSuffix(name, ".doStream") || strings.HasPrefix(name, "ai.streamText") ||
		strings.HasPrefix(name, "ai.streamObject") || name == "messages.stream"
}

func finishRaw(a *spanAttrs) string {
	if v, ok := a.get(kFinishReasons); ok {
		if s := firstFinish(v); s != "" {
			return s
		}
	}
	for _, k := range [...]int{kAIResponseFinishReason, kAIFinishReason, kLLMFinishReason, kAnthropicStopReason} {
		if s := a.str(k); s != "" {
			return capString(s, 64)
		}
	}
	if a.hasCompletion {
		return capString(a.vals[completionSlot].asString(), 64)
	}
	return ""
}

// firstFinish reads the first finish reason of an array, a JSON-encoded array or a scalar.
func firstFinish(v *attrValue) string {
	switch v.typ {
	case pcommon.ValueTypeSlice:
		if s, n := v.sliceFirst(); n > 0 {
			return capString(s, 64)
		}
		return ""
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.s)
		if strings.HasPrefix(s, "[") {
			var arr []string
			if json.Unmarshal([]byte(s), &arr) == nil {
				if len(arr) > 0 {
					return capString(arr[0], 64)
				}
				return ""
			}
		}
		return capString(s, 64)
	}
	return capString(v.asString(), 64)
}

func ttft(ev *spanEvents, a *spanAttrs, streaming bool) time.Duration {
	if f, ok := floatValue(a, kTTFCSeconds); ok && f > 0 {
		return seconds(f)
	}
	if f, ok := floatValue(a, kServerTTFTSeconds); ok && f > 0 && streaming {
		return seconds(f)
	}
	for _, k := range [...]int{kAIMsToFirstChunk, kAIStreamMsToFirstChunk} {
		if f, ok := floatValue(a, k); ok && f > 0 {
			return seconds(f / 1000)
		}
	}
	return ev.firstChunk
}

func seconds(f float64) time.Duration {
	if f > 1e6 {
		f = 1e6
	}
	return time.Duration(f * float64(time.Second))
}

func convention(name, scope string, a *spanAttrs) string {
	switch {
	case strings.HasPrefix(scope, "com.anthropic.sdk") || name == "anthropic.messages.create":
		return "anthropic_sdk"
	case a.has&(1<<kAIOperationID) != 0 || strings.HasPrefix(name, "ai."):
		return "vercel_ai"
	case a.has&(1<<kOpenInferenceKind) != 0:
		return "openinference"
	case name == "litellm_request" || name == "raw_gen_ai_request" || a.has&(1<<kErrorLLMProvider) != 0:
		return "litellm"
	case a.str(kTelemetrySDKName) == "openlit" || a.has&(1<<kGenAISDKVersion) != 0 || strings.HasPrefix(scope, "openlit"):
		return "openlit"
	case strings.HasPrefix(scope, "org.springframework") || a.springKeys:
		return "spring_ai"
	case a.has&(1<<kIsStreaming) != 0 || (strings.HasPrefix(scope, "opentelemetry.instrumentation.") && vendorOpName(name)):
		return "openllmetry"
	case a.has&(1<<kLLMRequestType|1<<kLLMIsStreaming) != 0 || a.hasCompletion:
		return "openllmetry_legacy"
	case a.has&(1<<kProviderName) != 0:
		return "genai"
	case a.has&(1<<kSystem) != 0:
		return "genai_legacy"
	case strings.HasPrefix(name, "Chat Completion with ") || strings.HasPrefix(name, "Message with "):
		return "logfire"
	}
	return "genai"
}

// vendorOpName matches OpenLLMetry's "<vendor>.<operation>" span names ("openai.chat"), not
// "chat gpt-4.1".
func vendorOpName(name string) bool {
	vendor, op, ok := strings.Cut(name, ".")
	if !ok || op == "" || strings.ContainsRune(name, ' ') {
		return false
	}
	switch vendor {
	case "anthropic", "openai", "bedrock", "cohere", "groq", "mistralai", "ollama", "vertexai", "gemini", "watsonx":
		return true
	}
	return false
}

func firstInt(a *spanAttrs, keys ...int) int64 {
	for _, k := range keys {
		if n, ok := intValue(a, k); ok && n >= 0 {
			return n
		}
	}
	return 0
}

func intValue(a *spanAttrs, k int) (int64, bool) {
	v, ok := a.get(k)
	if !ok {
		return 0, false
	}
	switch v.typ {
	case pcommon.ValueTypeInt:
		return v.i, true
	case pcommon.ValueTypeDouble:
		return int64(v.f), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
			return int64(f), ferr == nil
		}
		return n, true
	}
	return 0, false
}

func floatValue(a *spanAttrs, k int) (float64, bool) {
	v, ok := a.get(k)
	if !ok {
		return 0, false
	}
	switch v.typ {
	case pcommon.ValueTypeInt:
		return float64(v.i), true
	case pcommon.ValueTypeDouble:
		return v.f, true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		return f, err == nil
	}
	return 0, false
}

func (v *attrValue) boolValue() bool {
	switch v.typ {
	case pcommon.ValueTypeBool:
		return v.b
	case pcommon.ValueTypeStr:
		switch strings.ToLower(strings.TrimSpace(v.s)) {
		case "true", "1", "yes":
			return true
		}
	case pcommon.ValueTypeInt:
		return v.i != 0
	}
	return false
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// capString cuts s to at most n bytes, on a rune boundary.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
