package fakeprovider

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newServer(t *testing.T) (*Server, string) {
	t.Helper()
	s := New()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func post(t *testing.T, url, body string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// sseData returns the data lines of an SSE body, decoded, with their event names ("" when
// the event has none).
func sseData(t *testing.T, body []byte) (names []string, data []map[string]any) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m), line)
			names, data = append(names, name), append(data, m)
			name = ""
		}
	}
	return names, data
}

func TestAnthropicStreaming(t *testing.T) {
	s, url := newServer(t)
	resp, body, err := post(t, url+"/v1/messages?beta=true", `{"model":"claude-sonnet-4-5","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"say hi"}]}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("request-id"))
	names, data := sseData(t, body)
	require.Equal(t, []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}, names)
	text := ""
	for _, d := range data {
		if delta, ok := d["delta"].(map[string]any); ok && delta["type"] == "text_delta" {
			text += delta["text"].(string)
		}
	}
	require.Equal(t, Reply, text)
	reqs := s.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, Request{Time: reqs[0].Time, Method: "POST", Path: "/v1/messages?beta=true", API: "anthropic",
		Model: "claude-sonnet-4-5", Stream: true, Status: 200}, reqs[0])
}

func TestAnthropicNonStreamingAndCountTokens(t *testing.T) {
	_, url := newServer(t)
	resp, body, err := post(t, url+"/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[]}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var msg struct {
		Type    string `json:"type"`
		Model   string `json:"model"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
	}
	require.NoError(t, json.Unmarshal(body, &msg))
	require.Equal(t, "message", msg.Type)
	require.Equal(t, "claude-haiku-4-5", msg.Model)
	require.Equal(t, Reply, msg.Content[0].Text)
	require.Equal(t, "end_turn", msg.StopReason)

	resp, body, err = post(t, url+"/v1/messages/count_tokens", `{"model":"claude-haiku-4-5","messages":[]}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"input_tokens":12}`, string(body))

	req, _ := http.NewRequest(http.MethodGet, url+"/v1/models", nil)
	req.Header.Set("anthropic-version", "2023-06-01")
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode)
}

func TestFaultStatusBodies(t *testing.T) {
	s, url := newServer(t)
	cases := []struct {
		path, body string
		status     int
		want       string
	}{
		{"/v1/messages", `{"model":"m","stream":true}`, 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`},
		{"/v1/messages", `{"model":"m"}`, 429, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`},
		{"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", `{}`, 503, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`},
		{"/v1beta/models/gemini-2.5-flash:generateContent", `{}`, 500, `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`},
		{"/v1/responses", `{"model":"gpt-5","stream":true}`, 503, `{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}`},
	}
	for _, c := range cases {
		s.SetFault(Fault{Status: c.status})
		resp, body, err := post(t, url+c.path, c.body)
		require.NoError(t, err)
		require.Equal(t, c.status, resp.StatusCode, c.path)
		require.JSONEq(t, c.want, string(body), c.path)
	}
	require.Equal(t, "503", s.Fault().String())
	s.SetFault(Fault{})
	resp, _, err := post(t, url+"/v1/messages", `{"model":"m"}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the fault cleared")
}

func TestGemini(t *testing.T) {
	s, url := newServer(t)
	resp, body, err := post(t, url+"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"say hi"}]}]}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	names, data := sseData(t, body)
	require.Equal(t, []string{"", ""}, names, "alt=sse: data-only events")
	text := ""
	for _, d := range data {
		text += d["candidates"].([]any)[0].(map[string]any)["content"].(map[string]any)["parts"].([]any)[0].(map[string]any)["text"].(string)
	}
	require.Equal(t, Reply, text)
	require.Equal(t, "STOP", data[1]["candidates"].([]any)[0].(map[string]any)["finishReason"])
	require.NotNil(t, data[1]["usageMetadata"])

	resp, body, err = post(t, url+"/v1beta/models/gemini-2.5-flash:generateContent", `{"generationConfig":{"responseMimeType":"application/json"}}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Candidates []struct {
			Content struct {
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
		} `json:"candidates"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.True(t, json.Valid([]byte(out.Candidates[0].Content.Parts[0].Text)), "a JSON answer to a JSON request")

	resp, body, err = post(t, url+"/v1beta/models/gemini-2.5-flash:countTokens", `{}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"totalTokens":12}`, string(body))
	r, err := http.Get(url + "/v1beta/models")
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode)

	reqs := s.Requests()
	require.Equal(t, "gemini", reqs[0].API)
	require.Equal(t, "gemini-2.5-flash", reqs[0].Model)
	require.True(t, reqs[0].Stream)
	require.False(t, reqs[1].Stream)
}

func TestOpenAIResponses(t *testing.T) {
	_, url := newServer(t)
	resp, body, err := post(t, url+"/v1/responses", `{"model":"gpt-5","stream":true,"input":"say hi"}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	names, data := sseData(t, body)
	require.Equal(t, "response.created", names[0])
	require.Equal(t, "response.completed", names[len(names)-1])
	require.Contains(t, names, "response.output_text.delta")
	require.Contains(t, names, "response.output_item.done")
	for i, d := range data {
		require.Equal(t, names[i], d["type"])
		require.EqualValues(t, i, d["sequence_number"])
	}
	done := data[len(data)-1]["response"].(map[string]any)
	require.Equal(t, "completed", done["status"])
	require.NotNil(t, done["usage"])

	resp, body, err = post(t, url+"/v1/responses", `{"model":"gpt-5"}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), `"status":"completed"`)
}

// TestCut: a cut stream ends without its last events (the client sees an unexpected EOF); a
// cut non-streaming answer is half a JSON body.
func TestCut(t *testing.T) {
	s, url := newServer(t)
	s.SetFault(Fault{Cut: true})
	require.Equal(t, "cut", s.Fault().String())
	for _, c := range []struct{ path, body, last string }{
		{"/v1/messages", `{"model":"m","stream":true}`, "message_stop"},
		{"/v1beta/models/g:streamGenerateContent?alt=sse", `{}`, "STOP"},
		{"/v1/responses", `{"model":"gpt-5","stream":true}`, "response.completed"},
	} {
		resp, err := http.Post(url+c.path, "application/json", strings.NewReader(c.body))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Error(t, err, "%s: the stream ends abruptly", c.path)
		require.NotEmpty(t, b, "%s: the first events arrive", c.path)
		require.NotContains(t, string(b), c.last, c.path)
	}
	resp, err := http.Post(url+"/v1/messages", "application/json", strings.NewReader(`{"model":"m"}`))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.False(t, json.Valid(b), "half a body: %s", b)
}

func TestUnknownPath(t *testing.T) {
	s, url := newServer(t)
	r, err := http.Get(url + "/api/hello")
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	require.Equal(t, "", s.Requests()[0].API)
	s.Reset()
	require.Empty(t, s.Requests())
}

func TestFaultString(t *testing.T) {
	require.Equal(t, "ok", Fault{}.String())
	require.Equal(t, "529", Fault{Status: 529}.String())
	require.Equal(t, "cut", Fault{Cut: true}.String())
}
