package spangen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ordinaryKind is the type of a non-LLM span. The zero value is unused so a
// zero kind can mean "LLM call".
type ordinaryKind int

const (
	kindHTTPServer ordinaryKind = iota + 1
	kindDBClient
	kindHTTPClient
)

var ordinaryKinds = []weighted[ordinaryKind]{
	{4, kindHTTPServer},
	{4, kindDBClient},
	{2, kindHTTPClient},
}

// ordinarySpan renders a non-LLM span of the given kind and returns its
// duration.
func (g *generator) ordinarySpan(s ptrace.Span, kind ordinaryKind) time.Duration {
	switch kind {
	case kindHTTPServer:
		return g.httpServerSpan(s)
	case kindDBClient:
		return g.dbSpan(s)
	default:
		return g.httpClientSpan(s)
	}
}

// route is an HTTP server route template.
type route struct {
	method string
	route  string
}

var routes = []route{
	{"POST", "/api/v1/chat"},
	{"GET", "/api/v1/conversations/{id}"},
	{"GET", "/api/v1/users/{id}/messages"},
	{"POST", "/api/v1/documents"},
	{"DELETE", "/api/v1/sessions/{id}"},
	{"GET", "/healthz"},
}

var userAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
	"okhttp/4.12.0",
	"kube-probe/1.33",
}

// httpServerSpan renders an inbound HTTP request (HTTP semconv, SERVER).
func (g *generator) httpServerSpan(s ptrace.Span) time.Duration {
	r := g.rnd
	rt := pick(r, routes)
	status := pickWeighted(r, []weighted[int]{{955, 200}, {20, 404}, {10, 400}, {10, 500}, {5, 503}})
	s.SetName(rt.method + " " + rt.route)
	s.SetKind(ptrace.SpanKindServer)
	a := s.Attributes()
	a.EnsureCapacity(11)
	a.PutStr("http.request.method", rt.method)
	a.PutStr("url.scheme", "https")
	a.PutStr("url.path", strings.ReplaceAll(rt.route, "{id}", strconv.Itoa(r.between(1000, 999_999))))
	a.PutStr("http.route", rt.route)
	a.PutInt("http.response.status_code", int64(status))
	a.PutStr("server.address", "api.example.com")
	a.PutInt("server.port", 443)
	a.PutStr("client.address", fmt.Sprintf("10.0.%d.%d", r.intn(256), r.between(1, 254)))
	a.PutStr("network.protocol.version", pick(r, []string{"1.1", "2"}))
	a.PutStr("user_agent.original", pick(r, userAgents))
	if status >= 500 { // 4xx is the client's fault: status stays unset on SERVER spans
		a.PutStr("error.type", strconv.Itoa(status))
		s.Status().SetCode(ptrace.StatusCodeError)
	}
	return r.duration(45*time.Millisecond, 0.9, time.Millisecond, 5*time.Second)
}

// query is a database statement with its semconv summary.
type query struct {
	operation  string
	collection string
	text       string
}

var sqlQueries = []query{
	{"SELECT", "conversations", "SELECT id, user_id, title, updated_at FROM conversations WHERE user_id = $1 ORDER BY updated_at DESC LIMIT $2"},
	{"SELECT", "messages", "SELECT id, role, content, created_at FROM messages WHERE conversation_id = $1 ORDER BY created_at"},
	{"INSERT", "messages", "INSERT INTO messages (conversation_id, role, content, tokens) VALUES ($1, $2, $3, $4) RETURNING id"},
	{"UPDATE", "conversations", "UPDATE conversations SET updated_at = now(), title = $2 WHERE id = $1"},
}

var redisQueries = []query{
	{"GET", "", "GET session:?"},
	{"SET", "", "SET ratelimit:user:? ? EX ?"},
	{"INCR", "", "INCR usage:tokens:?"},
}

// dbSpan renders a database client call (DB semconv, CLIENT).
func (g *generator) dbSpan(s ptrace.Span) time.Duration {
	r := g.rnd
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.EnsureCapacity(10)
	if r.chance(0.25) {
		q := pick(r, redisQueries)
		s.SetName(q.operation)
		a.PutStr("db.system.name", "redis")
		a.PutStr("db.namespace", "0")
		a.PutStr("db.operation.name", q.operation)
		a.PutStr("db.query.text", q.text)
		a.PutStr("server.address", "redis.internal")
		a.PutInt("server.port", 6379)
		a.PutStr("network.peer.address", fmt.Sprintf("10.0.9.%d", r.between(2, 40)))
		a.PutInt("network.peer.port", 6379)
		return r.duration(700*time.Microsecond, 0.8, 100*time.Microsecond, 500*time.Millisecond)
	}
	q := pick(r, sqlQueries)
	summary := q.operation + " " + q.collection
	s.SetName(summary)
	a.PutStr("db.system.name", "postgresql")
	a.PutStr("db.namespace", "app")
	a.PutStr("db.operation.name", q.operation)
	a.PutStr("db.collection.name", q.collection)
	a.PutStr("db.query.summary", summary)
	a.PutStr("db.query.text", q.text)
	a.PutStr("server.address", "db-primary.internal")
	a.PutInt("server.port", 5432)
	a.PutStr("network.peer.address", fmt.Sprintf("10.0.8.%d", r.between(2, 40)))
	a.PutInt("db.response.returned_rows", int64(r.intn(50)))
	return r.duration(3*time.Millisecond, 1.0, 200*time.Microsecond, 2*time.Second)
}

// endpoint is an outbound HTTP target that is not an LLM provider.
type endpoint struct {
	method   string
	host     string
	port     int
	template string
	path     string
}

var endpoints = []endpoint{
	{"POST", "api.stripe.com", 443, "/v1/payment_intents", "/v1/payment_intents"},
	{"POST", "hooks.slack.com", 443, "/services/{team}/{channel}/{token}", "/services/T0001/B0002/XXXXXXXX"},
	{"GET", "billing.internal", 8080, "/v1/usage/{customer}", "/v1/usage/cus_8812"},
	{"POST", "search.internal", 9200, "/{index}/_search", "/docs/_search"},
	{"PUT", "storage.googleapis.com", 443, "/upload/storage/v1/b/{bucket}/o", "/upload/storage/v1/b/app-uploads/o"},
}

// httpClientSpan renders an outbound HTTP call to a non-provider host (HTTP
// semconv, CLIENT).
func (g *generator) httpClientSpan(s ptrace.Span) time.Duration {
	r := g.rnd
	e := pick(r, endpoints)
	status := pickWeighted(r, []weighted[int]{{970, 200}, {15, 404}, {10, 503}, {5, 502}})
	url := "https://" + e.host + e.path
	if e.port != 443 {
		url = fmt.Sprintf("http://%s:%d%s", e.host, e.port, e.path)
	}
	s.SetName(e.method)
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.EnsureCapacity(10)
	a.PutStr("http.request.method", e.method)
	a.PutStr("url.full", url)
	a.PutStr("url.template", e.template)
	a.PutStr("server.address", e.host)
	a.PutInt("server.port", int64(e.port))
	a.PutInt("http.response.status_code", int64(status))
	a.PutStr("network.protocol.version", "1.1")
	a.PutStr("network.peer.address", fmt.Sprintf("10.0.4.%d", r.between(2, 250)))
	a.PutStr("user_agent.original", pick(r, []string{"python-httpx/0.28.1", "node", "Go-http-client/1.1"}))
	if status >= 400 { // CLIENT spans mark 4xx and 5xx as errors
		a.PutStr("error.type", strconv.Itoa(status))
		s.Status().SetCode(ptrace.StatusCodeError)
	}
	return r.duration(120*time.Millisecond, 0.8, 5*time.Millisecond, 10*time.Second)
}
