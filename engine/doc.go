// Package engine runs the detection engine of package detectors inside the daemon: it owns the
// engine and its clock, serialises the calls that ingest hands it with the once-a-second ticks,
// restores the engine's snapshot at start and saves it while running and at shutdown, and hands
// every published change (statuses and transitions) on, in order, through a bounded fan-out to
// the health board, the incident manager and the logs.
//
// It must not do detection itself (that is detectors), read the network, or know the concrete
// types it publishes to: the board, the transition handlers and the snapshot store are
// interfaces declared here and satisfied by cmd/watcher's wiring.
package engine
