package health

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/detectors"
)

// GRPCServer implements the gRPC Health Checking Protocol over the board: service "" is the
// daemon (always SERVING while it runs), "provider" a provider, "provider/model" a model. Its
// Watch streams end with UNAVAILABLE when the board is closed (Board.Close).
type GRPCServer struct {
	healthpb.UnimplementedHealthServer
	board *Board
}

var _ healthpb.HealthServer = (*GRPCServer)(nil)

// NewGRPCServer returns the health service over board.
func NewGRPCServer(board *Board) *GRPCServer { return &GRPCServer{board: board} }

// Register adds the health service to s.
func (g *GRPCServer) Register(s *grpc.Server) { healthpb.RegisterHealthServer(s, g) }

// lookup answers for a service name; ok is false for a series never seen.
func (g *GRPCServer) lookup(service string) (healthpb.HealthCheckResponse_ServingStatus, bool) {
	if service == "" {
		return healthpb.HealthCheckResponse_SERVING, true
	}
	provider, model, _ := strings.Cut(service, "/")
	var st detectors.State
	if model == "" {
		s, ok := g.board.Get(detectors.SeriesKey{Provider: provider})
		if !ok {
			return healthpb.HealthCheckResponse_SERVICE_UNKNOWN, false
		}
		st = s.State
	} else {
		ms, ps, _, ok := g.board.Model(provider, model)
		if !ok {
			return healthpb.HealthCheckResponse_SERVICE_UNKNOWN, false
		}
		st = EffectiveOf(ms, ps.State)
	}
	if (Policy{}).Usable(st) {
		return healthpb.HealthCheckResponse_SERVING, true
	}
	return healthpb.HealthCheckResponse_NOT_SERVING, true
}

// clusterHeader is the response metadata of a replica in a cluster: outagewatch-term,
// outagewatch-version and, while it serves without its leader, outagewatch-stale (the health
// protocol's messages have no room for them). Outside a cluster it is nil: nothing is added.
func (g *GRPCServer) clusterHeader() metadata.MD {
	term, stale := g.board.Cluster()
	if term == 0 && !stale {
		return nil
	}
	md := metadata.Pairs("outagewatch-term", strconv.FormatInt(term, 10), "outagewatch-version", strconv.FormatUint(g.board.Version(), 10))
	if stale {
		md.Set("outagewatch-stale", "true")
	}
	return md
}

// Check answers the current status; NOT_FOUND for a series never seen.
func (g *GRPCServer) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if md := g.clusterHeader(); md != nil {
		_ = grpc.SetHeader(ctx, md) // fails only outside a gRPC handler
	}
	st, ok := g.lookup(req.GetService())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown service %q", req.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// errShuttingDown ends Watch streams once the board is closed: UNAVAILABLE is the status on which
// gRPC health clients reconnect, to another replica when there is one.
var errShuttingDown = status.Error(codes.Unavailable, "outagewatch is shutting down: reconnect")

// Watch sends the current status, then every change of it, until the client goes away or the
// board is closed; then it ends with UNAVAILABLE (at once for a Watch that starts after Close), so
// that a server's GracefulStop is not held by its watchers.
//
// In a cluster the stream's header metadata carries the term and version at its start (see
// clusterHeader); a replica's later changes of term or staleness do not end the stream.
func (g *GRPCServer) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	if md := g.clusterHeader(); md != nil {
		if err := stream.SetHeader(md); err != nil {
			return err
		}
	}
	last := healthpb.HealthCheckResponse_ServingStatus(-1)
	for {
		if g.board.closed() {
			return errShuttingDown
		}
		changed := g.board.Changed()
		st, _ := g.lookup(req.GetService())
		if st != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
			last = st
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-changed:
		case <-g.board.done:
		}
	}
}
