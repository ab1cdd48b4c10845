// Package forward carries every replica's calls to the cluster's leader (issue 19): ingest
// anywhere, decide once (the design's "Scale and availability").
//
// It owns three things:
//
//   - the wire format: a CallBatch of detectors.Call values (forward.proto documents it), encoded
//     and decoded by hand with protowire by AppendBatch and DecodeBatch. Strings are capped (1 KiB,
//     the error message 256 bytes as the normaliser caps it), enums and counts range-checked,
//     unknown fields skipped, at most MaxBatchCalls calls a batch; malformed input is an error,
//     never a panic;
//   - the server: the client-streaming method outagewatch.cluster.v1.Forwarder/Forward, built
//     from a hand-written grpc.ServiceDesc. Register adds it to a gRPC server made with
//     ServerOption (a codec for that server alone: nothing is registered process-wide). A stream
//     needs "authorization: Bearer <cluster token>" (Unauthenticated otherwise) and a replica that
//     leads (FailedPrecondition "not the leader" otherwise); its frames go to the Sink one at a
//     time, whatever the number of streams;
//   - the client: ConsumeCalls queues copies of calls without ever blocking (a bounded queue;
//     what does not fit is dropped and counted), and Run keeps one stream to the leader Leader
//     names, writes a frame at least every FlushEvery (100 ms by default, at most 250 ms), moves
//     at once when the leader changes (checked every second) and reconnects with a jittered
//     backoff of at most a second when a stream fails.
//
// Delivery is at most once: the client writes no frame before the leader has accepted the
// stream, so a refused stream loses nothing, but the frames in flight when a stream breaks (or
// when the old leader learns it has lost the lead) are lost. The detectors tolerate a gap of a
// few hundred milliseconds of traffic; they would not tolerate duplicates.
//
// It must not decide who leads (cluster/lease does, and main wires its answers into Leader and
// Sink), run detection, or keep process-wide state.
//
// # Cost
//
// BenchmarkForward, batches of 1024 realistic calls (161 bytes each on the wire), on a shared
// 2-core AMD EPYC, in CPU time: encoding 185 ns a call, decoding 265 ns (9 allocations a batch,
// as each string equal to the previous call's is shared), both 470 ns: about 0.5 CPU-seconds per
// million calls. End to end through a real loopback gRPC stream, client and server together,
// 800-870 ns a call: about 0.85 CPU-seconds and 161 MB of traffic per million calls.
package forward
