// Package gzipresponse compresses HTTP responses with gzip at its fastest level, for bodies
// large and repetitive enough that the default level costs more than producing them.
//
// A full-size /metrics body (13 MB of OpenMetrics text at 2,048 series) takes 63 ms to gzip
// at compress/gzip's default level, more than the 41 ms it takes to build; klauspost/compress
// at level 1 takes 6 ms for a body 11% larger (435 KB against 393 KB). promhttp compresses at
// the default level with no setting to change it, so /metrics hands its identity body to this
// package instead (docs/operations.md "Scraping at full size").
package gzipresponse

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Handler serves next's responses gzipped when the request accepts gzip. next always sees a
// request without Accept-Encoding, so it answers in identity and never compresses twice.
type Handler struct {
	next    http.Handler
	writers sync.Pool // of *gzip.Writer
}

// New returns a Handler around next.
func New(next http.Handler) *Handler {
	return &Handler{next: next}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept-Encoding")
	accept := r.Header.Values("Accept-Encoding")
	if len(accept) == 0 {
		h.next.ServeHTTP(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.Header.Del("Accept-Encoding")
	if !AcceptsGzip(accept) {
		h.next.ServeHTTP(w, r2)
		return
	}
	gw := &writer{ResponseWriter: w, h: h, head: r.Method == http.MethodHead}
	defer gw.close()
	h.next.ServeHTTP(gw, r2)
}

// AcceptsGzip reports whether Accept-Encoding values (RFC 9110 section 12.5.3) accept gzip:
// gzip, x-gzip or * listed with a weight above zero, where an explicit gzip weight overrides *.
func AcceptsGzip(values []string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			q := weight(params)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip":
				gzipQ = max(gzipQ, q)
			case "*":
				starQ = max(starQ, q)
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// weight returns the q parameter among an item's parameters, 1 when absent and 0 when
// malformed (a coding the client weighed unreadably is not one it asked for).
func weight(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

// writer compresses what the handler writes once its status allows a body.
type writer struct {
	http.ResponseWriter
	h       *Handler
	head    bool
	wrote   bool         // the status was written
	zw      *gzip.Writer // nil when the response is not compressed
	writeTo io.Writer
}

func (w *writer) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	hdr := w.ResponseWriter.Header()
	if bodyAllowed(code) && !w.head && hdr.Get("Content-Encoding") == "" {
		hdr.Set("Content-Encoding", "gzip")
		hdr.Del("Content-Length")
		zw, _ := w.h.writers.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(w.ResponseWriter, gzip.BestSpeed) // a valid level: no error
		} else {
			zw.Reset(w.ResponseWriter)
		}
		w.zw, w.writeTo = zw, zw
	} else {
		w.writeTo = w.ResponseWriter
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.writeTo.Write(p)
}

// Flush sends what is compressed so far, for handlers that stream.
func (w *writer) Flush() {
	if w.zw != nil {
		_ = w.zw.Flush()
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// close ends the gzip stream (an empty body still gets its header and trailer) and returns the
// compressor to the pool.
func (w *writer) close() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.zw == nil {
		return
	}
	_ = w.zw.Close()
	w.zw.Reset(io.Discard)
	w.h.writers.Put(w.zw)
	w.zw = nil
}

// bodyAllowed reports whether a response with status code may carry a body (RFC 9110 6.4.1).
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}
