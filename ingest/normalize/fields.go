package normalize

import (
	"encoding/json"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/outagewatch/outagewatch/detectors"
)

func statusOf(a *Attrs) int {
	for _, k := range [...]int{kHTTPResponseStatus, kHTTPStatusCode} {
		if n, ok := intValue(a, k); ok && n >= 100 && n <= 599 {
			return int(n)
		}
	}
	return 0
}

func (x *Normalizer) llmProvider(name string, a *Attrs) string {
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
	idx := x.hosts.Load()
	if p := idx.provider(a.str(kServerAddress)); p != "" {
		return p
	}
	if p := idx.providerOfURL(a.str(kOpenAIAPIBase)); p != "" {
		return p
	}
	return detectors.UnknownProvider
}

func llmModel(name string, a *Attrs) string {
	for _, k := range [...]int{kRequestModel, kAIModelID, kLLMRequestModelName, kLLMModelName, kResponseModel, kAIResponseModel, kLLMResponseModelName} {
		if m := a.str(k); m != "" && m != "none" {
			return CapString(m, 128)
		}
	}
	if op, model, ok := strings.Cut(name, " "); ok && model != "" {
		switch op {
		case "chat", "text_completion", "generate_content", "embeddings":
			return CapString(model, 128)
		}
	}
	return detectors.UnknownModel
}

func operation(name string, a *Attrs) string {
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
	return CapString(op, 32)
}

func streaming(name string, a *Attrs) bool {
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

func finishRaw(a *Attrs) string {
	if v, ok := a.get(kFinishReasons); ok {
		if s := firstFinish(v); s != "" {
			return s
		}
	}
	for _, k := range [...]int{kAIResponseFinishReason, kAIFinishReason, kLLMFinishReason, kAnthropicStopReason} {
		if s := a.str(k); s != "" {
			return CapString(s, 64)
		}
	}
	if a.hasCompletion {
		return CapString(a.vals[completionSlot].AsString(), 64)
	}
	return ""
}

// firstFinish reads the first finish reason of an array, a JSON-encoded array or a scalar.
func firstFinish(v *Value) string {
	switch v.typ {
	case pcommon.ValueTypeSlice:
		if s, n := v.sliceFirst(); n > 0 {
			return CapString(s, 64)
		}
		return ""
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.s)
		if strings.HasPrefix(s, "[") {
			var arr []string
			if json.Unmarshal([]byte(s), &arr) == nil {
				if len(arr) > 0 {
					return CapString(arr[0], 64)
				}
				return ""
			}
		}
		return CapString(s, 64)
	}
	return CapString(v.AsString(), 64)
}

func ttft(ev *Events, a *Attrs, streaming bool) time.Duration {
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
	return ev.FirstChunk
}

func seconds(f float64) time.Duration {
	if f > 1e6 {
		f = 1e6
	}
	return time.Duration(f * float64(time.Second))
}

func convention(name, scope string, a *Attrs) string {
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

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// CapString cuts s to at most n bytes, on a rune boundary.
func CapString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
