package receiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	spb "google.golang.org/genproto/googleapis/rpc/status"
)

// FuzzHTTPHandler sends arbitrary bodies, in both encodings, plain and gzip, through a handler
// with a budget: it answers 200 or 400/413 with a Status in the request's encoding, and leaves
// nothing charged.
func FuzzHTTPHandler(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[]}`), true, false)
	f.Add([]byte(`[[[[{"a":"\"[["}]]]]`), true, false)
	f.Add(gzipBytes(f, []byte(`{}`)), true, true)
	f.Add(gzipBytes(f, make([]byte, 4096)), false, true)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, false, false)
	adm := NewAdmission(AdmissionOptions{MaxBytesInFlight: 1 << 20, MaxWaiters: 4, MaxWait: longWait})
	h := NewHTTPHandler(&decodingSink{}, NewMetrics(prometheus.NewRegistry()), 64<<10, adm)
	f.Fuzz(fuzzHandler(h, adm, TracesPath))
}

// fuzzHandler is the fuzz function of a signal's handler h at path, with the budget adm: any
// body, in either encoding, plain or gzip, is answered 200 or 400/413 with a Status in the
// request's encoding, and leaves nothing charged.
func fuzzHandler(h http.Handler, adm *Admission, path string) func(t *testing.T, body []byte, json, gz bool) {
	return func(t *testing.T, body []byte, json, gz bool) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		ct := contentTypeProto
		if json {
			ct = contentTypeJSON
		}
		req.Header.Set("Content-Type", ct)
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if adm.InFlight() != 0 {
			t.Fatalf("%d bytes still charged", adm.InFlight())
		}
		if rec.Code == http.StatusOK {
			return
		}
		if rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != ct {
			t.Fatalf("content type %q for %q", got, ct)
		}
		var st spb.Status
		var err error
		if json {
			err = protojson.Unmarshal(rec.Body.Bytes(), &st)
		} else {
			err = proto.Unmarshal(rec.Body.Bytes(), &st)
		}
		if err != nil {
			t.Fatalf("error body is not a Status: %v: %q", err, rec.Body.Bytes())
		}
	}
}

// FuzzStatusMessage: whatever a decoder says, the message sent back is valid UTF-8 and bounded.
func FuzzStatusMessage(f *testing.F) {
	f.Add("ReadObjectCB: expect { or n, but found \xff, error found in #10 byte of ...|\xff\x00secret|...")
	f.Fuzz(func(t *testing.T, msg string) {
		got := statusMessage(msg)
		if !utf8.ValidString(got) || len(got) > maxStatusMessage+len("...") {
			t.Fatalf("%q", got)
		}
	})
}
