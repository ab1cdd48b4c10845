package fakeprovider

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// anthropicError is the error body of the Messages API for status.
func anthropicError(status int) map[string]any {
	typ, msg := "api_error", "Internal server error"
	switch status {
	case 529:
		typ, msg = "overloaded_error", "Overloaded"
	case 429:
		typ, msg = "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
	case 503:
		typ, msg = "api_error", "Service unavailable"
	case 400:
		typ, msg = "invalid_request_error", "Invalid request"
	}
	return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}
}

// anthropic serves the Messages API: POST /v1/messages (streaming or not),
// POST /v1/messages/count_tokens, GET /v1/models.
func (s *Server) anthropic(w http.ResponseWriter, r *http.Request, rec *Request) {
	id := s.nextID()
	w.Header().Set("request-id", fmt.Sprintf("req_fake%06d", id))
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/models"):
		model := map[string]any{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"}
		if r.URL.Path != "/v1/models" {
			model["id"] = strings.TrimPrefix(r.URL.Path, "/v1/models/")
			writeJSON(w, http.StatusOK, model)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": []any{model}, "has_more": false, "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"})
		return
	case r.Method != http.MethodPost:
		writeJSON(w, http.StatusMethodNotAllowed, anthropicError(400))
		return
	}
	body := decodeBody(r)
	rec.Model, _ = body["model"].(string)
	rec.Stream, _ = body["stream"].(bool)
	f := s.Fault()
	if f.Status != 0 {
		if f.Status == 429 || f.Status == 529 || f.Status == 503 {
			w.Header().Set("retry-after", "0")
		}
		writeJSON(w, f.Status, anthropicError(f.Status))
		return
	}
	if r.URL.Path == "/v1/messages/count_tokens" {
		writeJSON(w, http.StatusOK, map[string]any{"input_tokens": 12})
		return
	}
	if r.URL.Path != "/v1/messages" {
		writeJSON(w, http.StatusNotFound, anthropicError(400))
		return
	}
	msgID := fmt.Sprintf("msg_fake%06d", id)
	usage := map[string]any{"input_tokens": 12, "output_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	if !rec.Stream {
		if f.Cut {
			halfBody(w, `{"id":"`+msgID+`","type":"message","content":[{"type":"te`)
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": msgID, "type": "message", "role": "assistant", "model": rec.Model,
			"content":     []any{map[string]any{"type": "text", "text": Reply}},
			"stop_reason": "end_turn", "stop_sequence": nil, "usage": usage,
		})
		return
	}
	e := startSSE(w)
	e.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": msgID, "type": "message", "role": "assistant", "model": rec.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": 12, "output_tokens": 1},
	}})
	e.event("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	e.event("ping", map[string]any{"type": "ping"})
	e.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": Reply[:1]}})
	if f.Cut {
		cut()
	}
	e.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": Reply[1:]}})
	e.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	e.event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 3}})
	e.event("message_stop", map[string]any{"type": "message_stop"})
}

// geminiError is the error body of the Gemini API for status.
func geminiError(status int) map[string]any {
	st, msg := "INTERNAL", "An internal error has occurred."
	switch status {
	case 503:
		st, msg = "UNAVAILABLE", "The model is overloaded. Please try again later."
	case 429:
		st, msg = "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."
	case 529:
		st, msg = "UNAVAILABLE", "Overloaded."
	case 404:
		st, msg = "NOT_FOUND", "Not found."
	}
	return map[string]any{"error": map[string]any{"code": status, "message": msg, "status": st}}
}

// gemini serves the Gemini API: POST /v1beta/models/M:generateContent,
// :streamGenerateContent?alt=sse, :countTokens, :embedContent, GET /v1beta/models.
func (s *Server) gemini(w http.ResponseWriter, r *http.Request, rec *Request) {
	path := r.URL.Path
	if r.Method == http.MethodGet {
		model := map[string]any{"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
			"supportedGenerationMethods": []string{"generateContent", "countTokens"}}
		if strings.HasSuffix(path, "/models") {
			writeJSON(w, http.StatusOK, map[string]any{"models": []any{model}})
		} else {
			model["name"] = path[strings.Index(path, "models/"):]
			writeJSON(w, http.StatusOK, model)
		}
		return
	}
	i := strings.LastIndex(path, "/models/")
	j := strings.LastIndex(path, ":")
	if i < 0 || j < i {
		writeJSON(w, http.StatusNotFound, geminiError(404))
		return
	}
	method := path[j+1:]
	rec.Model = path[i+len("/models/") : j]
	rec.Stream = method == "streamGenerateContent"
	body := decodeBody(r)
	f := s.Fault()
	if f.Status != 0 {
		writeJSON(w, f.Status, geminiError(f.Status))
		return
	}
	usage := map[string]any{"promptTokenCount": 12, "candidatesTokenCount": 3, "totalTokenCount": 15}
	switch method {
	case "countTokens":
		writeJSON(w, http.StatusOK, map[string]any{"totalTokens": 12})
		return
	case "embedContent":
		writeJSON(w, http.StatusOK, map[string]any{"embedding": map[string]any{"values": []float64{0.1, 0.2, 0.3}}})
		return
	case "batchEmbedContents":
		writeJSON(w, http.StatusOK, map[string]any{"embeddings": []any{map[string]any{"values": []float64{0.1, 0.2, 0.3}}}})
		return
	case "generateContent", "streamGenerateContent":
	default:
		writeJSON(w, http.StatusNotFound, geminiError(404))
		return
	}
	text := Reply
	if cfg, ok := body["generationConfig"].(map[string]any); ok && cfg["responseMimeType"] == "application/json" {
		// The CLI's own JSON calls (model routing, next-speaker check): a plausible object.
		text = `{"reasoning":"fake provider","model_choice":"flash","next_speaker":"user","complexity_reasoning":"simple","complexity_score":1}`
	}
	chunk := func(t string, done bool) map[string]any {
		c := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": t}}}, "index": 0}
		out := map[string]any{"candidates": []any{c}, "modelVersion": rec.Model, "responseId": fmt.Sprintf("fake%06d", s.nextID())}
		if done {
			c["finishReason"] = "STOP"
			out["usageMetadata"] = usage
		}
		return out
	}
	if !rec.Stream {
		if f.Cut {
			halfBody(w, `{"candidates":[{"content":{"ro`)
		}
		writeJSON(w, http.StatusOK, chunk(text, true))
		return
	}
	e := startSSE(w)
	if text != Reply {
		e.event("", chunk(text, true))
		return
	}
	e.event("", chunk(Reply[:1], false))
	if f.Cut {
		cut()
	}
	e.event("", chunk(Reply[1:], true))
}

// openaiError is the error body of the OpenAI API for status.
func openaiError(status int) map[string]any {
	typ, msg := "server_error", "The server had an error while processing your request."
	switch status {
	case 503:
		msg = "The engine is currently overloaded, please try again later."
	case 429:
		typ, msg = "rate_limit_exceeded", "Rate limit reached."
	}
	return map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}}
}

// openai serves the OpenAI Responses API: POST /v1/responses (streaming or not) and
// GET /v1/models.
func (s *Server) openai(w http.ResponseWriter, r *http.Request, rec *Request) {
	id := s.nextID()
	w.Header().Set("x-request-id", fmt.Sprintf("req_fake%06d", id))
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{
			map[string]any{"id": "gpt-5", "object": "model", "created": 1754000000, "owned_by": "openai"},
		}})
		return
	}
	body := decodeBody(r)
	rec.Model, _ = body["model"].(string)
	rec.Stream, _ = body["stream"].(bool)
	f := s.Fault()
	if f.Status != 0 {
		writeJSON(w, f.Status, openaiError(f.Status))
		return
	}
	respID, itemID := fmt.Sprintf("resp_fake%06d", id), fmt.Sprintf("msg_fake%06d", id)
	created := time.Now().Unix()
	item := func(status, text string) map[string]any {
		content := []any{}
		if status == "completed" {
			content = append(content, map[string]any{"type": "output_text", "text": text, "annotations": []any{}})
		}
		return map[string]any{"id": itemID, "type": "message", "status": status, "role": "assistant", "content": content}
	}
	response := func(status string, output []any) map[string]any {
		resp := map[string]any{"id": respID, "object": "response", "created_at": created, "status": status, "model": rec.Model, "output": output}
		if status == "completed" {
			resp["usage"] = map[string]any{"input_tokens": 12, "input_tokens_details": map[string]any{"cached_tokens": 0},
				"output_tokens": 3, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": 15}
		}
		return resp
	}
	if !rec.Stream {
		if f.Cut {
			halfBody(w, `{"id":"`+respID+`","object":"resp`)
		}
		writeJSON(w, http.StatusOK, response("completed", []any{item("completed", Reply)}))
		return
	}
	e := startSSE(w)
	n := 0
	ev := func(typ string, fields map[string]any) {
		fields["type"], fields["sequence_number"] = typ, n
		n++
		e.event(typ, fields)
	}
	ev("response.created", map[string]any{"response": response("in_progress", []any{})})
	ev("response.in_progress", map[string]any{"response": response("in_progress", []any{})})
	ev("response.output_item.added", map[string]any{"output_index": 0, "item": item("in_progress", "")})
	ev("response.content_part.added", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0,
		"part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
	ev("response.output_text.delta", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0, "delta": Reply[:1]})
	if f.Cut {
		cut()
	}
	ev("response.output_text.delta", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0, "delta": Reply[1:]})
	ev("response.output_text.done", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0, "text": Reply})
	ev("response.content_part.done", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0,
		"part": map[string]any{"type": "output_text", "text": Reply, "annotations": []any{}}})
	ev("response.output_item.done", map[string]any{"output_index": 0, "item": item("completed", Reply)})
	ev("response.completed", map[string]any{"response": response("completed", []any{item("completed", Reply)})})
}
