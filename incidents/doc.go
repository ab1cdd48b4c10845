// Package incidents owns the lifecycle of incidents: it turns the detection engine's transitions
// into incidents that open (after a short group wait that gathers the models of a provider that
// fail together), escalate and de-escalate, record every transition with its evidence on a
// timeline, and resolve when all their series are healthy again.
//
// A local verdict of the engine (a transition whose series names a caller: one calling service's
// or one endpoint host's calls fail while the model's other callers stay at their baseline) is
// an incident of its own, keyed by (provider, caller) beside the provider's incident, with its
// own group wait, models and thread. It resolves when its caller recovers, or when the failures
// widen to the other callers and the provider's incident takes them over (issue 18).
//
// Every change, with the alert outbox rows it implies, is written through the Store interface in
// one transaction. When the store is unreachable, changes wait in a bounded, ordered queue and are
// written in order when it comes back; detection and the health signal never wait for it.
package incidents
