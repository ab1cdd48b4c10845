// Package client is the Go client of outagewatch's health signal for routers
// (docs/health-api.md). A Client follows GET /v1/health by long-polling, keeps the last answer
// in memory, and answers Usable(provider, model) from it without I/O or locks, so that a router
// can ask on every request. When outagewatch is unreachable it keeps answering from the last
// answer and says how old that answer is (Staleness). Options.Service asks for the answers as
// one calling service sees them: a model failing for that service alone is unusable for it only.
//
// It imports nothing of outagewatch but the documented JSON, so that routers depend on the
// contract alone.
package client
