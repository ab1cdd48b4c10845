// Package statuspage serves outagewatch's own status page on the API port: whether traffic
// arrives (the last span, the calls per second, a warning after the silence timeout), every
// provider and model with its state, since when and why, small charts of the last hour, the
// open incidents with their timelines, the last resolved ones and the active silences; and one
// page per incident. A provider with many models shows its healthy ones, and its unknown ones,
// folded into a line each ("62 models healthy"), so that the page stays small at ingest's caps.
// Under each provider's header, when a health.VendorStatusSource is configured, a line says what
// the provider's own status page says, with a note when it disagrees with our verdict; an
// incident's page shows the provider's post linked to it and its lead time (vendorview.go).
// Neither changes a state.
//
// The page is rendered on the server (html/template, inline SVG charts) and needs no JavaScript;
// a small embedded script follows /v1/health/stream to update it without reloads. Everything is
// served from the binary: no build step, no external network.
//
// It reads the health board and a bounded in-memory History of each series' figures, and the
// incident store through incidents.Query; when the store is unreachable the page still shows the
// health part. It writes nothing.
package statuspage
