package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/outagewatch/outagewatch/ingest/receiver"
)

// Server owns the OTLP listeners: gRPC (the trace, logs and metrics services, with room for
// more, such as gRPC health) and HTTP (/v1/traces, /v1/logs, /v1/metrics). Build it with NewServer, register extra gRPC services on GRPC(), then Start; Shutdown
// stops both listeners and waits for the requests in flight.
type Server struct {
	cfg    Config
	logger *slog.Logger
	grpc   *grpc.Server
	http   *http.Server

	mu     sync.Mutex
	grpcLn net.Listener
	httpLn net.Listener
	wg     sync.WaitGroup
	// failed receives the error of a listener that stopped serving on its own (Wait).
	failed chan error
}

// NewServer builds the OTLP receivers of p. It binds nothing.
func NewServer(cfg Config, p *Pipeline, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: logger.With("component", "ingest"), failed: make(chan error, 2)}
	// One budget for both receivers: it stands for the process's memory.
	adm := receiver.NewAdmission(receiver.AdmissionOptions{
		MaxBytesInFlight: cfg.Admission.MaxBytesInFlight,
		MaxWaiters:       cfg.Admission.MaxWaiters,
		MaxWait:          cfg.Admission.MaxWait,
		Shed:             cfg.Admission.Shed,
	})
	p.recv.WatchAdmission(adm)
	var extra []grpc.ServerOption
	if sec := cfg.Security; sec.TLS != nil {
		extra = append(extra, grpc.Creds(credentials.NewTLS(sec.TLS)))
	}
	if sec := cfg.Security; sec.Auth != nil {
		extra = append(extra, receiver.TokenTap(sec.Auth, p.recv, sec.OpenMethods...))
	}
	s.grpc = receiver.NewGRPCServer(p, p.recv, receiver.GRPCOptions{
		Extra:                 extra,
		MaxRequestBytes:       cfg.MaxRequestBytes,
		Admission:             adm,
		MaxConcurrentStreams:  cfg.GRPC.MaxConcurrentStreams,
		KeepaliveMinTime:      cfg.GRPC.KeepaliveMinTime,
		MaxConnectionIdle:     cfg.GRPC.MaxConnectionIdle,
		MaxConnectionAge:      cfg.GRPC.MaxConnectionAge,
		MaxConnectionAgeGrace: cfg.GRPC.MaxConnectionAgeGrace,
		Logs:                  p,
		Metrics:               p,
	})
	mux := http.NewServeMux()
	mux.Handle(TracesPath, receiver.NewHTTPHandler(p, p.recv, cfg.MaxRequestBytes, adm))
	mux.Handle(receiver.LogsPath, receiver.NewLogsHTTPHandler(p, p.recv, cfg.MaxRequestBytes, adm))
	mux.Handle(receiver.MetricsPath, receiver.NewMetricsHTTPHandler(p, p.recv, cfg.MaxRequestBytes, adm))
	// Any other path (an exporter configured with /v1/trace, or without /v1/traces): 404 naming
	// the right one, counted, logged once per path a minute.
	mux.Handle("/", receiver.NewUnknownPathHandler(p.recv, s.logger))
	var handler http.Handler = mux
	if cfg.Security.Auth != nil {
		handler = receiver.RequireToken(mux, cfg.Security.Auth, p.recv)
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

// GRPC returns the gRPC server, for registering other services before Start.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Start binds the configured listeners and serves them in the background. On error nothing is
// left listening.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.GRPCAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.GRPCAddr)
		if err != nil {
			return fmt.Errorf("listen otlp grpc %s: %w", s.cfg.GRPCAddr, err)
		}
		s.grpcLn = ln
		s.logger.Info("otlp grpc listening", "addr", ln.Addr().String(), "tls", s.cfg.Security.TLS != nil)
		s.wg.Go(func() {
			if err := s.grpc.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				s.failed <- fmt.Errorf("otlp grpc: %w", err)
			}
		})
	}
	if s.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
		if err != nil {
			s.grpc.Stop()
			return fmt.Errorf("listen otlp http %s: %w", s.cfg.HTTPAddr, err)
		}
		s.logger.Info("otlp http listening", "addr", ln.Addr().String(), "tls", s.cfg.Security.TLS != nil)
		if s.cfg.Security.TLS != nil {
			ln = tls.NewListener(ln, s.cfg.Security.TLS)
		}
		s.httpLn = ln
		s.wg.Go(func() {
			if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.failed <- fmt.Errorf("otlp http: %w", err)
			}
		})
	}
	return nil
}

// Wait blocks until a listener stops serving on its own, and returns its error, or until ctx
// ends, and returns nil: the supervisor runs it as the receivers' part, so that a receiver that
// fails while running stops the daemon.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case err := <-s.failed:
		return err
	case <-ctx.Done():
		return nil
	}
}

// GRPCAddr returns the bound gRPC address, or "" when gRPC is off or not started.
func (s *Server) GRPCAddr() string { return addrOf(&s.mu, &s.grpcLn) }

// HTTPAddr returns the bound HTTP address, or "" when HTTP is off or not started.
func (s *Server) HTTPAddr() string { return addrOf(&s.mu, &s.httpLn) }

func addrOf(mu *sync.Mutex, ln *net.Listener) string {
	mu.Lock()
	defer mu.Unlock()
	if *ln == nil {
		return ""
	}
	return (*ln).Addr().String()
}

// Shutdown stops accepting requests and waits, until ctx is done, for those in flight; then it
// closes what remains. It is safe to call without Start and more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	if err := s.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("otlp http shutdown: %w", err))
		_ = s.http.Close()
	}
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
		errs = append(errs, fmt.Errorf("otlp grpc shutdown: %w", ctx.Err()))
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// Check reports whether ingest is ready: its listeners are bound.
func (s *Server) Check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.GRPCAddr != "" && s.grpcLn == nil || s.cfg.HTTPAddr != "" && s.httpLn == nil {
		return errors.New("otlp listeners not started")
	}
	return nil
}
