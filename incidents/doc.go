// Package incidents owns the lifecycle of incidents: it turns the detection engine's transitions
// into incidents that open (after a short group wait that gathers the models of a provider that
// fail together), escalate and de-escalate, record every transition with its evidence on a
// timeline, and resolve when all their series are healthy again.
//
// Every change, with the alert outbox rows it implies, is written through the Store interface in
// one transaction. When the store is unreachable, changes wait in a bounded, ordered queue and are
// written in order when it comes back; detection and the health signal never wait for it.
package incidents
