package normalize

import "strings"

// urlEndpoint returns the endpoint host of rawURL (endpoint), or "" when it names none.
func urlEndpoint(rawURL string) string {
	i := strings.Index(rawURL, "://")
	if i <= 0 {
		return ""
	}
	host, plain := plainURLHost(rawURL)
	if !plain {
		host = hostOf(rawURL) // allocates: only URLs with an unusual authority get here
	}
	return endpoint(host)
}

// endpoint returns the provider endpoint host a call went to, from a host or host:port: lower
// case, capped at 128 bytes, without its port. The port goes even when it is not the scheme's
// default: an LLM span's server.address names no port (semconv puts it in server.port) while
// its attempts' URLs do, and one endpoint must not count as two callers. It allocates only for
// a host with upper-case letters.
func endpoint(host string) string {
	if host == "" {
		return ""
	}
	if h, _, ok := splitPort(host); ok {
		host = h
	}
	return CapString(strings.ToLower(host), 128)
}

// splitPort splits host:port, [ipv6]:port; ok is false when host has no port (a bare IPv6
// address is not split at its last colon).
func splitPort(host string) (h, port string, ok bool) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || i == len(host)-1 {
		return "", "", false
	}
	h, port = host[:i], host[i+1:]
	for j := 0; j < len(port); j++ {
		if port[j] < '0' || port[j] > '9' {
			return "", "", false
		}
	}
	if strings.IndexByte(h, ':') >= 0 && !(strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]")) {
		return "", "", false
	}
	return h, port, true
}
