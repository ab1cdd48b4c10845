// Package health publishes what the detection engine decided: the board of current states of
// every provider and model, which the health APIs (HTTP, gRPC, watch and push) and the Go client
// read.
//
// It depends on the board alone, never on the store or on Slack, so that routers keep getting
// answers when those are down.
package health
