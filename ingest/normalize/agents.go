package normalize

import "github.com/outagewatch/outagewatch/detectors"

// Exported wrappers for the packages that build calls from other signals than spans (the coding
// agents' log events, ingest/agentlogs). They change nothing in the span path.

// ClassFromText classifies an error from its texts (an error type, an error message), with the
// patterns of docs/normalisation.md ("Error classes"). It returns ClassOther when nothing
// matches, including when every text is empty.
func ClassFromText(texts ...string) detectors.ErrorClass { return classFromText(texts...) }

// StatusFromText finds an HTTP status in an error text ("Error code: 529 - {...}", or a leading
// "529 {...}"); 0 when there is none.
func StatusFromText(s string) int { return statusFromText(s) }

// NormalizeProvider returns the canonical provider name of raw (docs/normalisation.md,
// "Provider names"), or "" when raw is empty or names a framework.
func NormalizeProvider(raw string) string { return normalizeProvider(raw) }

// MaxErrorMessage is the length, in bytes, at which a call's sample error message is cut.
const MaxErrorMessage = 256
