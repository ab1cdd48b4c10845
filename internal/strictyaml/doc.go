// Package strictyaml decodes one YAML document into a Go struct strictly, with errors a person
// can act on: each names the file, the line and the field path, and an unknown key comes with the
// closest valid one ("watcher.yaml:3: ingest.grpc_adr: unknown field (did you mean grpc_addr?)")
// or, failing that, the list of valid keys. All problems are reported at once, joined.
//
// Decode walks the yaml.v3 node tree against the yaml tags of the destination type (reflection)
// before decoding, then decodes with KnownFields, which still refuses anything the walk missed.
// The walk follows yaml.v3's rules for aliases and merge keys ("<<"), refuses a second document,
// duplicate keys, floats for integers and alias or merge cycles, and is bounded (checking each
// aliased node once per path, and stopping with "document too complex" after a fixed number of
// steps), so a hostile file cannot make it run for ever.
//
// The package owns only the decoding: it does no I/O (the caller reads the file and passes its
// name for the messages), keeps no state between calls, and must not import any other outagewatch
// package. It applies no defaults and validates no values beyond their YAML types: the caller
// fills the struct with defaults first (an absent or null key leaves a value alone) and validates
// after. Inline maps (`yaml:",inline"` on a map) are not supported: their keys would be reported
// as unknown.
package strictyaml
