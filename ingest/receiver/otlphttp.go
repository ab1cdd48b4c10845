package receiver

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// retryAfterSeconds is what a refused exporter is asked to wait.
const retryAfterSeconds = "1"

// httpHandler serves the OTLP/HTTP exports of one signal as the OTLP specification says: 200
// with a (possibly partial-success) response, 400 for malformed payloads, 413 for oversized
// bodies, 415 for content types and encodings it does not speak, 429 with Retry-After when the
// byte budget is spent and 503 with Retry-After when the queue is full.
type httpHandler struct {
	sig      *signal
	m        *Metrics
	maxBytes int64
	adm      *Admission
	bufs     bufferPool
	gzip     gzipReaders
}

// NewHTTPHandler returns the OTLP/HTTP handler of the pipeline p, for mounting at TracesPath,
// taking request bodies of at most maxRequestBytes before and after decompression, charged to
// adm (nil admits everything).
func NewHTTPHandler(p Pipeline, m *Metrics, maxRequestBytes int64, adm *Admission) http.Handler {
	return newHTTPHandler(tracesSignal(p), m, maxRequestBytes, adm)
}

// NewLogsHTTPHandler returns the OTLP/HTTP handler of logs for c, for mounting at LogsPath, with
// the same bounds and answers as NewHTTPHandler's (partial success counts rejected log records).
func NewLogsHTTPHandler(c LogsConsumer, m *Metrics, maxRequestBytes int64, adm *Admission) http.Handler {
	return newHTTPHandler(logsSignal(c), m, maxRequestBytes, adm)
}

// NewMetricsHTTPHandler returns the OTLP/HTTP handler of metrics for c, for mounting at
// MetricsPath, with the same bounds and answers as NewHTTPHandler's (partial success counts
// rejected data points).
func NewMetricsHTTPHandler(c MetricsConsumer, m *Metrics, maxRequestBytes int64, adm *Admission) http.Handler {
	return newHTTPHandler(metricsSignal(c), m, maxRequestBytes, adm)
}

func newHTTPHandler(sig *signal, m *Metrics, maxRequestBytes int64, adm *Admission) *httpHandler {
	return &httpHandler{sig: sig, m: m, maxBytes: maxRequestBytes, adm: adm}
}

// count counts one request of h's signal.
func (h *httpHandler) count(encoding, result string) { h.m.count(h.sig.name, "http", encoding, result) }

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "only POST is allowed", http.StatusMethodNotAllowed)
		return
	}
	encoding, ok := bodyEncoding(r.Header.Get("Content-Type"))
	if !ok {
		h.count("unknown", resultUnsupported)
		http.Error(w, fmt.Sprintf("unsupported content type %q: use %s or %s", r.Header.Get("Content-Type"), contentTypeProto, contentTypeJSON), http.StatusUnsupportedMediaType)
		return
	}
	t := ticket{a: h.adm}
	defer t.release() // on every path: the budget must not leak
	body, err := h.readBody(r, &t)
	defer body.free(&t)
	if err != nil {
		h.refuse(w, encoding, err)
		return
	}
	res, err := h.sig.consume("http", encoding, body.bytes())
	if err != nil && !errors.Is(err, ErrQueueFull) {
		h.count(encoding, resultBadRequest)
		writeStatus(w, encoding, http.StatusBadRequest, codes.InvalidArgument, "decode "+encoding+" export request: "+err.Error())
		return
	}
	if errors.Is(err, ErrQueueFull) {
		h.count(encoding, resultRefused)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeStatus(w, encoding, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		return
	}
	h.writeResponse(w, encoding, res)
}

// refuse answers a request whose body could not be read: 429 with Retry-After over budget, 413
// too large, 415 for an unknown encoding, 400 for the rest.
func (h *httpHandler) refuse(w http.ResponseWriter, encoding string, err error) {
	var unsupported *unsupportedEncodingError
	switch {
	case overloaded(err):
		h.count(encoding, resultRefused)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeStatus(w, encoding, http.StatusTooManyRequests, codes.ResourceExhausted, err.Error())
	case errors.Is(err, errTooLarge) || tooLarge(err) != nil:
		h.count(encoding, resultTooLarge)
		writeStatus(w, encoding, http.StatusRequestEntityTooLarge, codes.InvalidArgument, err.Error())
	case errors.As(err, &unsupported):
		h.count(encoding, resultUnsupported)
		writeStatus(w, encoding, http.StatusUnsupportedMediaType, codes.InvalidArgument, err.Error())
	default:
		h.count(encoding, resultBadRequest)
		writeStatus(w, encoding, http.StatusBadRequest, codes.InvalidArgument, err.Error())
	}
}

type unsupportedEncodingError struct{ encoding string }

func (e *unsupportedEncodingError) Error() string {
	return fmt.Sprintf("unsupported content encoding %q: use gzip or none", e.encoding)
}

// readBody reads the (possibly gzip-compressed) body, at most h.maxBytes before and after
// decompression, into a buffer charged to t: the compressed bytes by Content-Length (or as they
// come when it is unknown) before they are read, then the decompressed ones by the size gzip
// declares (or as they come) before inflating. Over budget it waits, then gives up with an
// error that overloaded recognises.
func (h *httpHandler) readBody(r *http.Request, t *ticket) (*chargedBuffer, error) {
	if r.ContentLength > h.maxBytes {
		return nil, fmt.Errorf("%w: request body of %d bytes exceeds the limit of %d", errTooLarge, r.ContentLength, h.maxBytes)
	}
	ce := r.Header.Get("Content-Encoding")
	if ce != "" && ce != "identity" && ce != "gzip" {
		return nil, &unsupportedEncodingError{ce}
	}
	hint := int64(unknownSizeHint)
	if r.ContentLength >= 0 {
		hint = r.ContentLength + 1 // +1: EOF without growing
	}
	raw, err := newChargedBuffer(r.Context(), t, &h.bufs, min(hint, h.maxBytes+1))
	if err != nil {
		return nil, err
	}
	if err := raw.readFrom(r.Context(), t, http.MaxBytesReader(nil, r.Body, h.maxBytes), h.maxBytes); err != nil {
		raw.free(t)
		if tle := tooLarge(err); tle != nil {
			return nil, fmt.Errorf("%w: %w", errTooLarge, tle)
		}
		if errors.Is(err, errTooLarge) || overloaded(err) {
			return nil, err
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	if ce != "gzip" {
		return raw, nil
	}
	defer raw.free(t) // the compressed bytes are let go once inflated
	return inflate(r.Context(), t, &h.gzip, &h.bufs, raw.bytes(), h.maxBytes)
}

// tooLarge recognises the error of http.MaxBytesReader.
// It returns nil for any other error.
func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("request body exceeds the limit of %d bytes", mbe.Limit)
	}
	return nil
}

func (h *httpHandler) writeResponse(w http.ResponseWriter, encoding string, res Result) {
	result, msg := resultOK, ""
	if res.Rejected > 0 {
		result, msg = resultPartial, h.sig.partialMessage(res)
	}
	h.count(encoding, result)
	body, err := h.sig.response(encoding, int64(res.Rejected), msg)
	if encoding == "json" {
		w.Header().Set("Content-Type", contentTypeJSON)
	} else {
		w.Header().Set("Content-Type", contentTypeProto)
	}
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeStatus answers with an HTTP error code and a google.rpc.Status body in the request's
// encoding, as the OTLP specification asks.
func writeStatus(w http.ResponseWriter, encoding string, httpCode int, code codes.Code, msg string) {
	st := status.New(code, statusMessage(msg)).Proto()
	var body []byte
	var err error
	if encoding == "json" {
		w.Header().Set("Content-Type", contentTypeJSON)
		body, err = protojson.Marshal(st)
	} else {
		w.Header().Set("Content-Type", contentTypeProto)
		body, err = proto.Marshal(st)
	}
	if err != nil { // cannot happen: statusMessage makes msg valid UTF-8
		w.Header().Del("Content-Type")
		body = nil
	}
	w.WriteHeader(httpCode)
	_, _ = w.Write(body)
}

// bodyEncoding maps a Content-Type to "proto" or "json".
func bodyEncoding(contentType string) (string, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	switch mt {
	case contentTypeProto, "application/protobuf":
		return "proto", true
	case contentTypeJSON:
		return "json", true
	}
	return "", false
}

// Unknown-path logging: each path is logged at most once per unknownPathLogEvery, and at most
// maxUnknownPaths paths (of at most maxUnknownPathLen bytes) are remembered; beyond them, the
// others share one entry, logged once per interval too.
const (
	unknownPathLogEvery = time.Minute
	maxUnknownPaths     = 256
	maxUnknownPathLen   = 256
	otherUnknownPaths   = "(other paths)"
)

// unknownPathHandler answers the OTLP/HTTP requests to any path but the signals': 404 with a
// body naming TracesPath (and the others), counted, and logged once per path per minute.
type unknownPathHandler struct {
	m      *Metrics
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	logged map[string]time.Time // path (truncated) -> when it was last logged
}

// NewUnknownPathHandler returns the handler for the OTLP/HTTP paths other than the signals'
// (TracesPath, LogsPath, MetricsPath), for mounting at "/" next to their handlers: an exporter configured with a wrong path (POST
// /v1/trace) gets a 404 naming TracesPath, in the request's encoding when it is OTLP's, and is
// counted in outagewatch_ingest_http_unknown_path_total and logged once per path per minute.
func NewUnknownPathHandler(m *Metrics, logger *slog.Logger) http.Handler {
	return &unknownPathHandler{m: m, logger: logger, now: time.Now, logged: map[string]time.Time{}}
}

func (h *unknownPathHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.m.unknownPath.Inc()
	path := truncate(r.URL.Path, maxUnknownPathLen)
	if key, ok := h.shouldLog(path); ok {
		h.logger.Warn("OTLP/HTTP request to an unknown path: is the exporter's endpoint right?",
			"path", key, "method", r.Method, "want", TracesPath, "remote", r.RemoteAddr,
			"user_agent", truncate(r.UserAgent(), maxUnknownPathLen))
	}
	msg := fmt.Sprintf("unknown path %q: OTLP/HTTP traces go to %s (POST, %s or %s), logs to %s, metrics to %s",
		path, TracesPath, contentTypeProto, contentTypeJSON, LogsPath, MetricsPath)
	if encoding, ok := bodyEncoding(r.Header.Get("Content-Type")); ok {
		writeStatus(w, encoding, http.StatusNotFound, codes.NotFound, msg)
		return
	}
	http.Error(w, msg, http.StatusNotFound)
}

// shouldLog reports whether path is due to be logged, and under which name: the path itself, or
// otherUnknownPaths once maxUnknownPaths other paths are remembered.
func (h *unknownPathHandler) shouldLog(path string) (string, bool) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.logged[path]; !ok && len(h.logged) >= maxUnknownPaths {
		for p, at := range h.logged {
			if now.Sub(at) >= unknownPathLogEvery {
				delete(h.logged, p)
			}
		}
		if len(h.logged) >= maxUnknownPaths {
			path = otherUnknownPaths // the one entry beyond the bound
		}
	}
	if at, ok := h.logged[path]; ok && now.Sub(at) < unknownPathLogEvery {
		return path, false
	}
	h.logged[path] = now
	return path, true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
