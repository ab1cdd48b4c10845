package watcherproc

import "encoding/json"

// Addrs are the addresses a watcher bound, from its "watcher started" log record.
type Addrs struct {
	API      string `json:"api_addr"`
	OTLPGRPC string `json:"otlp_grpc_addr"`
	OTLPHTTP string `json:"otlp_http_addr"`
}

// parseStarted returns the addresses in line if it is the watcher's "watcher started" record
// in the JSON log format and names all three.
func parseStarted(line []byte) (Addrs, bool) {
	var rec struct {
		Msg string `json:"msg"`
		Addrs
	}
	if json.Unmarshal(line, &rec) != nil || rec.Msg != "watcher started" {
		return Addrs{}, false
	}
	return rec.Addrs, rec.API != "" && rec.OTLPGRPC != "" && rec.OTLPHTTP != ""
}
