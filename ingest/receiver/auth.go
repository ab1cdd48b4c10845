package receiver

import (
	"context"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/outagewatch/outagewatch/internal/bearer"
)

// Authenticator checks a bearer token presented with an OTLP request: the token's name when it
// is one of the configured tokens (ingest.auth, internal/bearer).
type Authenticator func(token string) (name string, ok bool)

// RequireToken wraps the OTLP/HTTP handler (every signal's paths): a request without a valid bearer token is answered
// 401 with WWW-Authenticate and a google.rpc.Status UNAUTHENTICATED in the request's encoding,
// before its body is read, and counted as unauthenticated; nothing of it reaches the pipeline.
func RequireToken(next http.Handler, auth Authenticator, m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token, ok := bearer.FromHeader(r.Header.Get("Authorization")); ok {
			if _, ok := auth(token); ok {
				next.ServeHTTP(w, r)
				return
			}
		}
		encoding, ok := bodyEncoding(r.Header.Get("Content-Type"))
		if !ok {
			encoding = "proto"
		}
		m.count(signalOfPath(r.URL.Path), "http", encoding, resultUnauthenticated)
		w.Header().Set("WWW-Authenticate", bearer.Challenge)
		writeStatus(w, encoding, http.StatusUnauthorized, codes.Unauthenticated, bearer.Message)
	})
}

// TokenTap returns a gRPC server option that refuses a stream without a valid bearer token in
// its authorization metadata with UNAUTHENTICATED, before the request is read (a tap runs when
// the stream's headers arrive), counted as unauthenticated. Methods in open (full method names,
// such as the gRPC health service's) need no token.
func TokenTap(auth Authenticator, m *Metrics, open ...string) grpc.ServerOption {
	return grpc.InTapHandle(func(ctx context.Context, info *tap.Info) (context.Context, error) {
		for _, o := range open {
			if strings.HasPrefix(info.FullMethodName, o) {
				return ctx, nil
			}
		}
		for _, v := range info.Header.Get("authorization") {
			if token, ok := bearer.FromHeader(v); ok {
				if _, ok := auth(token); ok {
					return ctx, nil
				}
			}
		}
		if sig := signalOfMethod(info.FullMethodName); sig != "" {
			m.count(sig, "grpc", "proto", resultUnauthenticated)
		}
		return ctx, status.Error(codes.Unauthenticated, bearer.Message)
	})
}
