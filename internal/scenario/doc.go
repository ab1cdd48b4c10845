// Package scenario generates deterministic synthetic streams of detectors.Call values under a
// virtual clock, for the detection bench (cmd/detectbench) and detector tests.
//
// A Stream is a Poisson arrival process at a fixed rate whose calls fail, are throttled or are
// cut off with probabilities that step once at a change time (and optionally step back at a
// recovery time). Options add lognormal latency and time to first token with a slowdown factor
// after the change, retry storms (one logical request failing all of its attempts), silence
// (no calls after a time) and on/off traffic. The presets (StepOutage, Noise, TruncationStorm,
// ...) build the Specs of the detection bench's rows (docs/bench.md); docs/detection.md says
// what the detectors make of them.
//
// The same Spec, seed included, always yields the same calls. Generation does not allocate per
// call, so a bench can replay hundreds of millions of calls. scenario does no I/O, reads no
// clock and imports only the detectors domain types.
package scenario
