// Package receiver holds the OTLP receivers of traces: OTLP/gRPC (the trace service, its
// request codec and gzip) and OTLP/HTTP (protobuf and JSON, gzip), answering as the OTLP
// specification says: 400 and InvalidArgument for malformed input, 413 and ResourceExhausted
// for oversized requests, 415 for content types and encodings it does not speak, 429 with
// Retry-After and ResourceExhausted with RetryInfo over the byte budget (Admission), 503 with
// Retry-After and Unavailable with RetryInfo when the pipeline is full, partial success for
// rejected spans. Error answers are google.rpc.Status messages in the request's encoding.
//
// It owns request bodies (bounded before and after decompression, charged to the admission
// budget before they are allocated), their buffers and gzip readers, per receiver, and the
// request counter. It must not decode spans beyond handing the body to the Pipeline, nor change
// anything process-wide: its gzip decompressor is given to its own gRPC server, not registered
// with the grpc package.
package receiver
