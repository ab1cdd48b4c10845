package vendorstatus

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Formats of Source.Format.
const (
	// FormatStatuspage is Atlassian Statuspage's public API v2: URL/api/v2/summary.json and
	// URL/api/v2/incidents.json.
	FormatStatuspage = "statuspage"
	// FormatIncidentIO is incident.io's Statuspage-compatible copy of the same two documents
	// (its summary.json lists no incidents and its incidents name no components).
	FormatIncidentIO = "incidentio"
	// FormatGoogle is Google Cloud's incidents.json: URL is the file itself.
	FormatGoogle = "gcloud"
)

// Config says which providers' pages are read and how. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// Enabled false reads no page at all (an air-gapped site): the poller's Run then returns
	// at once and the board stays empty.
	Enabled bool `yaml:"enabled"`
	// Interval is the time between two reads of one source.
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one HTTP request, body included.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes bounds one document, after gzip: a larger one is an error.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Sources are the pages read; nil means DefaultSources().
	Sources []Source `yaml:"sources"`
}

// Source is one provider's status page.
type Source struct {
	// Provider is outagewatch's provider name ("anthropic", "openai", "gcp.vertex_ai").
	Provider string `yaml:"provider"`
	// Format is FormatStatuspage, FormatIncidentIO or FormatGoogle.
	Format string `yaml:"format"`
	// URL is the page's JSON base (https://status.claude.com, to which /api/v2/... is added) or,
	// for Google, the incidents.json file's URL.
	URL string `yaml:"url"`
	// Page is the human page's URL, shown beside what it says.
	Page string `yaml:"page"`
	// Components map the page's components (or Google's products) to outagewatch models.
	Components []Mapping `yaml:"components"`
}

// Mapping maps the components whose names match Component to Models.
type Mapping struct {
	// Component is a case-insensitive shell pattern (path.Match: * ? [...]) on the component's
	// or Google product's name. It is matched against incident names too: a mapping with Models
	// whose pattern matches an incident's name ("*Opus*") gives the incident those models.
	Component string `yaml:"component"`
	// Models are outagewatch model names or patterns the component stands for; empty means the
	// whole provider.
	Models []string `yaml:"models"`
}

// DefaultConfig is enabled, reads DefaultSources every minute with a 10 s timeout and a 4 MiB
// bound on each document.
func DefaultConfig() Config {
	return Config{
		Enabled:      true,
		Interval:     60 * time.Second,
		Timeout:      10 * time.Second,
		MaxBodyBytes: 4 << 20,
	}
}

// sources returns the configured sources, DefaultSources when none are.
func (c Config) sources() []Source {
	if c.Sources == nil {
		return DefaultSources()
	}
	return c.Sources
}

// Validate reports every invalid field, each named by its path under "provider_status".
func (c Config) Validate() error {
	var errs []error
	bad := func(field, msg string) {
		errs = append(errs, fmt.Errorf("provider_status.%s: %s", field, msg))
	}
	if c.Interval < time.Second {
		// a ticker panics on 0; below a second is hammering someone else's page
		bad("interval", "must be at least 1s")
	}
	if c.Timeout <= 0 {
		bad("timeout", "must be > 0")
	}
	if c.MaxBodyBytes < 1024 {
		bad("max_body_bytes", "must be at least 1024")
	}
	seen := map[string]int{}
	for i, s := range c.sources() {
		for _, err := range s.validate() {
			bad(fmt.Sprintf("sources[%d].%s", i, err.field), err.msg)
		}
		if j, dup := seen[s.Provider]; dup && s.Provider != "" {
			bad(fmt.Sprintf("sources[%d].provider", i), fmt.Sprintf("%q is already sources[%d]'s", s.Provider, j))
		}
		seen[s.Provider] = i
	}
	return errors.Join(errs...)
}

type fieldError struct{ field, msg string }

func (s Source) validate() []fieldError {
	var errs []fieldError
	bad := func(field, msg string) { errs = append(errs, fieldError{field, msg}) }
	if s.Provider == "" {
		bad("provider", "must not be empty")
	}
	switch s.Format {
	case FormatStatuspage, FormatIncidentIO, FormatGoogle:
	default:
		bad("format", fmt.Sprintf("%q: must be one of statuspage, incidentio, gcloud", s.Format))
	}
	if msg := checkURL(s.URL); msg != "" {
		bad("url", msg)
	}
	if s.Page != "" {
		if msg := checkURL(s.Page); msg != "" {
			bad("page", msg)
		}
	}
	for i, m := range s.Components {
		if m.Component == "" {
			bad(fmt.Sprintf("components[%d].component", i), "must not be empty")
		} else if !validPattern(m.Component) {
			bad(fmt.Sprintf("components[%d].component", i), fmt.Sprintf("%q is not a valid pattern", m.Component))
		}
		for j, model := range m.Models {
			if model == "" || !validPattern(model) {
				bad(fmt.Sprintf("components[%d].models[%d]", i, j), fmt.Sprintf("%q is not a valid model name or pattern", model))
			}
		}
	}
	return errs
}

func checkURL(raw string) string {
	if raw == "" {
		return "must not be empty"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%q: %v", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%q: must be an absolute http or https URL", raw)
	}
	return ""
}
