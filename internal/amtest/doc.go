// Package amtest runs the real Alertmanager for tests: each Instance on free loopback ports,
// with its own --storage.path, routing every alert to a webhook receiver that the test owns
// (Receiver), which records the notifications. An instance can be stopped and started again
// (Alertmanager snapshots its notification log on a clean stop) and clustered with others (an
// HA pair). Timings are small, so that a notification comes about a second after its alert:
// GroupWait, GroupInterval, PeerTimeout.
//
// Alertmanager missing is a failure, never a skip: scripts/test.sh installs it, as does
// apt-get install prometheus-alertmanager. The package is for tests only and must not be
// imported by production code.
package amtest
