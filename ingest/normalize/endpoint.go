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
	return endpoint(rawURL[:i], host)
}

// endpoint returns the provider endpoint a call went to, from a host or host:port: lower case,
// capped at 128 bytes, without its port when the port is the default of scheme (80 for http,
// 443 for https; either when scheme is "", as for a bare server.address). Other ports stay: a
// local gateway on 127.0.0.1:8080 is not the one on :8081. It allocates only for a host with
// upper-case letters.
func endpoint(scheme, host string) string {
	if host == "" {
		return ""
	}
	if h, port, ok := splitPort(host); ok && defaultPort(scheme, port) {
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

func defaultPort(scheme, port string) bool {
	switch {
	case scheme == "":
		return port == "443" || port == "80"
	case strings.EqualFold(scheme, "https"):
		return port == "443"
	case strings.EqualFold(scheme, "http"):
		return port == "80"
	}
	return false
}
