// Package replica moves the leader's health board to every replica of a cluster (issue 19,
// DESIGN.md "Scale and availability": decide once, serve everywhere).
//
// The leader registers a Publisher on its gRPC server: the service
// outagewatch.cluster.v1.Replicator, whose server-streaming method Follow sends a follower the
// whole board, then every update of it (statuses, the transitions with their versions, the
// term), and a heartbeat at least every second when nothing changed. Each replica runs a
// Follower, which follows the current leader, installs what it receives with
// health.Board.Replicate, so that its HTTP, SSE, long-poll and gRPC answers are the leader's, and
// says when it has lost the leader for longer than StaleAfter (Stale, StaleChanged, the board's
// "stale" and the metric outagewatch_cluster_stale).
//
// It owns the transport and nothing else: who leads (cluster/lease), and what a stale replica
// does (the wiring switches the board to its own engine), are decided elsewhere. It registers no
// process-wide codec: its messages write and read their own bytes through cluster/frame's codec,
// given per server (ServerCodec, or the OTLP receiver's server, which it can share) and per call.
package replica
