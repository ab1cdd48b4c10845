package normalize

// Exported wrappers for ingest/genaimetrics, which makes calls from GenAI metrics: endpoint
// hosts and the operations that are not provider calls, read as the span path reads them
// (provider names and error classes: agents.go). They change nothing in the span path.

// ProviderOfHost returns the provider whose API host is host (a host name or host:port, such as
// server.address), or "" when it is no known provider's. Configured provider hosts are not
// consulted.
func ProviderOfHost(host string) string { return hostIndex{}.provider(host) }

// Endpoint returns the endpoint host of a server.address value as calls carry it: lower case,
// without its port, at most 128 bytes.
func Endpoint(host string) string { return endpoint(host) }

// NonProviderOperation reports whether a gen_ai.operation.name names an operation that is no
// provider call (execute_tool, invoke_agent, create_agent, invoke_workflow, retrieval, plan,
// framework): the span path skips such spans (skipOperation), the metrics' mapper such points.
func NonProviderOperation(op string) bool {
	switch op {
	case "execute_tool", "invoke_agent", "create_agent", "invoke_workflow", "retrieval", "plan", "framework":
		return true
	}
	return false
}

// BareStatus parses a value that is only a three-digit HTTP status, 100 to 599 (an error.type
// of "529"); 0 otherwise.
func BareStatus(s string) int {
	if len(s) != 3 {
		return 0
	}
	return leadingStatus(s)
}
