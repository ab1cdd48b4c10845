package normalize

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// key ids of the attributes the normaliser reads.
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

// Attrs holds the values of the keys the normaliser reads from one span. A decoder offers it
// each attribute of a span in turn (Slot); the zero value is ready for use.
type Attrs struct {
	has uint64
	// vals holds the keys' values; vals[numKeys] is a legacy OpenLLMetry
	// gen_ai.completion.N.finish_reason value (when hasCompletion).
	vals          [numKeys + 1]Value
	hasCompletion bool
	springKeys    bool
}

// completionSlot is the index in Attrs.vals of the gen_ai.completion.N.finish_reason value.
const completionSlot = numKeys

func (a *Attrs) get(k int) (*Value, bool) {
	if a.has&(1<<uint(k)) == 0 {
		return nil, false
	}
	return &a.vals[k], true
}

func (a *Attrs) str(k int) string {
	v, ok := a.get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

// Reset forgets the values of the previous span.
func (a *Attrs) Reset() {
	a.has = 0
	a.hasCompletion = false
	a.springKeys = false
}

// Slot classifies an attribute key: it returns the Value to set to the key's value, or nil when
// the normaliser does not read the key. Keys must be offered in their order in the span.
func (a *Attrs) Slot(k string) *Value {
	if id := a.slot(k); id >= 0 {
		return &a.vals[id]
	}
	return nil
}

// slot is Slot's index in vals, or -1.
func (a *Attrs) slot(k string) int {
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

// Read resets a and reads the keys it needs from m.
func (a *Attrs) Read(m pcommon.Map) {
	a.Reset()
	for k, v := range m.All() {
		if id := a.slot(k); id >= 0 {
			a.vals[id].SetPcommon(v)
		}
	}
}

func firstInt(a *Attrs, keys ...int) int64 {
	for _, k := range keys {
		if n, ok := intValue(a, k); ok && n >= 0 {
			return n
		}
	}
	return 0
}

func intValue(a *Attrs, k int) (int64, bool) {
	v, ok := a.get(k)
	if !ok {
		return 0, false
	}
	switch v.typ {
	case pcommon.ValueTypeInt:
		return v.i, true
	case pcommon.ValueTypeDouble:
		return int64(v.f()), true
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

func floatValue(a *Attrs, k int) (float64, bool) {
	v, ok := a.get(k)
	if !ok {
		return 0, false
	}
	switch v.typ {
	case pcommon.ValueTypeInt:
		return float64(v.i), true
	case pcommon.ValueTypeDouble:
		return v.f(), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		return f, err == nil
	}
	return 0, false
}

func (v *Value) boolValue() bool {
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
