// Package receiver holds the OTLP receivers of traces, logs and metrics: OTLP/gRPC (the trace,
// logs and metrics services, their request codec and gzip) and OTLP/HTTP (protobuf and JSON,
// gzip), answering as the OTLP specification says: 400 and InvalidArgument for malformed input,
// 413 and ResourceExhausted for oversized requests, 415 for content types and encodings it does
// not speak, 429 with Retry-After and ResourceExhausted with RetryInfo over the byte budget
// (Admission), 503 with Retry-After and Unavailable with RetryInfo when the pipeline is full,
// partial success for rejected spans, log records or data points. Error answers are
// google.rpc.Status messages in the request's encoding. The signals share everything but the
// decoding and the answer's message (signal.go).
//
// It owns request bodies (bounded before and after decompression, charged to the admission
// budget before they are allocated), their buffers and gzip readers, per receiver, and the
// request counter. It must not decode spans beyond handing the body to the Pipeline (logs and
// metrics it decodes with pdata for their consumers), nor change anything process-wide: its
// gzip decompressor is given to its own gRPC server, not registered with the grpc package.
package receiver
