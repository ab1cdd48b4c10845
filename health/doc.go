// Package health publishes what the detection engine decided: the board of current states of
// every provider and model, which the health APIs (HTTP, gRPC, watch and push) and the Go client
// read; and, through a FreshnessSource that main adapts from ingest, whether traffic arrives at
// all; and, through a VendorStatusSource that main adapts from vendorstatus, what each
// provider's own status page says, beside the verdict and never changing it (providerstatus.go,
// issue 25). Each answer is a series' own; a query naming a caller (?service=, ?endpoint=) gets
// the answer as that caller sees it, its local verdict included (local.go, issue 18).
//
// It depends on the board (and those sources) alone, never on the store or on Slack, so that
// routers keep getting answers when those are down. At shutdown, Board.Close releases every
// push client built on the board (long-polls, SSE streams, gRPC Watch streams) before the
// servers stop, so that no client holds a graceful stop up.
//
// In a cluster (issue 19) a replica's board is the leader's, installed by Board.Replicate with
// the leader's versions (cluster/replica moves it), and every answer carries the leader's term
// and, while the replica serves without its leader, "stale" (Board.SetCluster). replicate.go
// says how versions behave when a board switches between the leader's and its own engine's.
package health
