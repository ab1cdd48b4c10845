// Package detectors is the core of outagewatch: the domain types (Call, SeriesKey, State,
// Transition, Evidence) and the engine that turns calls into health states.
//
// It does no I/O and imports no package of this module. Everything that touches the network,
// the database or the clock from outside reaches it through values and an injected clock, so
// that the same input always gives the same output.
package detectors
