package bearer

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Option changes an interceptor.
type Option func(*interceptorOptions)

type interceptorOptions struct {
	exempt map[string]bool
}

// Exempt serves the given full method names ("/package.Service/Method") without a token.
func Exempt(methods ...string) Option {
	return func(o *interceptorOptions) {
		for _, m := range methods {
			o.exempt[m] = true
		}
	}
}

// HealthMethods are the gRPC health service's methods (Check, List, Watch), for Exempt.
func HealthMethods() []string {
	return []string{
		healthpb.Health_Check_FullMethodName,
		healthpb.Health_List_FullMethodName,
		healthpb.Health_Watch_FullMethodName,
	}
}

func newOptions(opts []Option) *interceptorOptions {
	o := &interceptorOptions{exempt: map[string]bool{}}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// authenticate returns ctx with the name of the token in its "authorization" metadata, or the
// Unauthenticated status.
func (s *Set) authenticate(ctx context.Context) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if vals := md.Get("authorization"); len(vals) > 0 {
		if name, ok := s.checkHeader(vals[0]); ok {
			return WithName(ctx, name), nil
		}
	}
	return nil, status.Error(codes.Unauthenticated, Message)
}

// UnaryServerInterceptor refuses unary calls without a token in force in their "authorization"
// metadata with codes.Unauthenticated, and passes the token's name in the context (NameFrom).
func (s *Set) UnaryServerInterceptor(opts ...Option) grpc.UnaryServerInterceptor {
	o := newOptions(opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if o.exempt[info.FullMethod] {
			return handler(ctx, req)
		}
		ctx, err := s.authenticate(ctx)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams.
func (s *Set) StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	o := newOptions(opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if o.exempt[info.FullMethod] {
			return handler(srv, ss)
		}
		ctx, err := s.authenticate(ss.Context())
		if err != nil {
			return err
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx})
	}
}

// stream is a ServerStream with the authenticated context.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
