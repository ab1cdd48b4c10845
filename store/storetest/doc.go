// Package storetest is the contract suite of the incident stores: Run checks, against a fresh
// store per case, everything incidents.Store, incidents.Query and the alert outbox promise, so
// that store/postgres and store/sqlite behave identically. Each store's tests call Run with an
// opener; cases run in parallel, each on its own store.
//
// It is imported by tests only.
package storetest
