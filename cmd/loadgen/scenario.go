package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// shipped holds the scenarios that -scenario names without a path.
//
//go:embed scenarios/*.yaml
var shipped embed.FS

// scenario is one YAML file: the traffic mix and the timeline of phases that changes it.
// README.md documents every field.
type scenario struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Traffic     traffic `yaml:"traffic"`
	Phases      []phase `yaml:"phases"`
}

// traffic is the mix of calls the simulated application makes, and the baseline behaviour of
// the providers it calls.
type traffic struct {
	// Service is the resource's service.name; OTEL_SERVICE_NAME wins over it.
	Service string `yaml:"service"`
	// Errors is the baseline probability of each failure, per HTTP attempt.
	Errors errorMix `yaml:"errors"`
	// Truncation is the baseline probability that a stream is cut after its first chunk.
	Truncation float64 `yaml:"truncation"`
	// Timeout is the client's per-attempt timeout: a timed-out attempt lasts this long.
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries is the SDK's retry budget after a 429, 529, 5xx or timeout (nil: 2).
	MaxRetries *int     `yaml:"max_retries"`
	Targets    []target `yaml:"targets"`
}

// target is one provider and model the application calls.
type target struct {
	// Service is the service.name of the application that makes these calls (default: the
	// traffic's service). Several services may call the same provider/model.
	Service  string `yaml:"service"`
	Provider string `yaml:"provider"`
	Model    string `yaml:"model"`
	// ResponseModel is the versioned name the provider answers with (default: Model).
	ResponseModel string `yaml:"response_model"`
	// Rate is the mean arrival rate of calls, per second (Poisson arrivals).
	Rate float64 `yaml:"rate"`
	// Stream is the share of calls that stream, 0 to 1.
	Stream float64 `yaml:"stream"`
	// MaxTokens caps the output; a call that reaches it stops with finish reason "length".
	MaxTokens int64 `yaml:"max_tokens"`
	// TTFT is the time to the first token; TokenTime the time per output token after it.
	TTFT      durationDist `yaml:"ttft"`
	TokenTime durationDist `yaml:"token_time"`
	// InputTokens and OutputTokens are the token counts of a call.
	InputTokens  countDist `yaml:"input_tokens"`
	OutputTokens countDist `yaml:"output_tokens"`
	// Shapes weighs the instrumentations whose spans the calls are shaped as.
	Shapes map[string]float64 `yaml:"shapes"`
	// Errors and Truncation replace the traffic's baseline for this target when set.
	Errors     *errorMix `yaml:"errors"`
	Truncation *float64  `yaml:"truncation"`
	// MaxRetries replaces the traffic's retry budget for this target when set.
	MaxRetries *int `yaml:"max_retries"`
}

// durationDist is a lognormal duration: Median·e^(Sigma·N(0,1)).
type durationDist struct {
	Median time.Duration `yaml:"median"`
	Sigma  float64       `yaml:"sigma"`
}

// countDist is a lognormal count, rounded, at least 1.
type countDist struct {
	Median float64 `yaml:"median"`
	Sigma  float64 `yaml:"sigma"`
}

// errorMix is the probability of each failure class, per HTTP attempt. Their sum is at most 1.
type errorMix struct {
	Overloaded  float64 `yaml:"overloaded"`   // 529 (Anthropic), 503 (OpenAI, Gemini)
	RateLimited float64 `yaml:"rate_limited"` // 429
	ServerError float64 `yaml:"server_error"` // 500
	Timeout     float64 `yaml:"timeout"`      // no answer within traffic.timeout
}

func (m errorMix) sum() float64 { return m.Overloaded + m.RateLimited + m.ServerError + m.Timeout }

// phase is one step of the timeline.
type phase struct {
	Name      string        `yaml:"name"`
	Duration  time.Duration `yaml:"duration"`
	Overrides []override    `yaml:"overrides"`
}

// override changes the targets it selects for the length of its phase. Unset fields keep the
// target's baseline; Errors replaces the whole error mix.
type override struct {
	// Target is "provider/model", "provider" or "*" ("" with Service: every target of it).
	Target string `yaml:"target"`
	// Service, when set, narrows the override to the targets of that service.
	Service       string    `yaml:"service"`
	Errors        *errorMix `yaml:"errors"`
	Truncation    *float64  `yaml:"truncation"`
	LatencyFactor *float64  `yaml:"latency_factor"`
	TTFTFactor    *float64  `yaml:"ttft_factor"`
	RateFactor    *float64  `yaml:"rate_factor"`
}

// selects reports whether the override applies to t.
func (o override) selects(t target) bool {
	if o.Service != "" && o.Service != t.Service {
		return false
	}
	return o.Target == "*" || (o.Target == "" && o.Service != "") || o.Target == t.Provider || o.Target == t.key()
}

// key names a target as the daemon names its series: provider/model.
func (t target) key() string { return t.Provider + "/" + t.Model }

// label names a target in the summary: its key, prefixed with its own service if it has one.
func (t target) label() string {
	if t.Service == "" {
		return t.key()
	}
	return t.Service + ":" + t.key()
}

// retries is the target's retry budget: its own, else the traffic's.
func (t target) retries(tr *traffic) int {
	if t.MaxRetries != nil {
		return *t.MaxRetries
	}
	return *tr.MaxRetries
}

// services lists the targets' own service names, in order of first appearance.
func (tr *traffic) services() []string {
	var out []string
	for _, t := range tr.Targets {
		if t.Service != "" && !slices.Contains(out, t.Service) {
			out = append(out, t.Service)
		}
	}
	return out
}

// Defaults of the optional fields.
const (
	defaultService    = "loadgen"
	defaultTimeout    = 60 * time.Second
	defaultMaxRetries = 2
	defaultMaxTokens  = 4096
)

var (
	defaultTTFT         = durationDist{Median: 600 * time.Millisecond, Sigma: 0.4}
	defaultTokenTime    = durationDist{Median: 15 * time.Millisecond, Sigma: 0.3}
	defaultInputTokens  = countDist{Median: 1000, Sigma: 0.8}
	defaultOutputTokens = countDist{Median: 300, Sigma: 0.8}
)

// loadScenario reads the scenario named by ref: a path when ref names a file (it contains a
// slash or ends in .yaml or .yml), else one of the shipped scenarios.
func loadScenario(ref string) (*scenario, error) {
	var data []byte
	var err error
	if strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml") {
		data, err = os.ReadFile(ref)
	} else {
		data, err = shipped.ReadFile(path.Join("scenarios", ref+".yaml"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("unknown scenario %q (shipped: %s)", ref, strings.Join(shippedNames(), ", "))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	s, err := parseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", ref, err)
	}
	return s, nil
}

// shippedNames lists the embedded scenarios, sorted.
func shippedNames() []string {
	entries, _ := shipped.ReadDir("scenarios") // the directory is embedded: it exists
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// parseScenario decodes one YAML document strictly (an unknown key is an error naming it), fills
// the defaults and validates the result.
func parseScenario(data []byte) (*scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s scenario
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty document")
		}
		return nil, fmt.Errorf("decode: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode: more than one YAML document")
	}
	s.fillDefaults()
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// fillDefaults sets every optional field left empty.
func (s *scenario) fillDefaults() {
	tr := &s.Traffic
	if tr.Service == "" {
		tr.Service = defaultService
	}
	if tr.Timeout == 0 {
		tr.Timeout = defaultTimeout
	}
	if tr.MaxRetries == nil {
		n := defaultMaxRetries
		tr.MaxRetries = &n
	}
	for i := range tr.Targets {
		t := &tr.Targets[i]
		if t.ResponseModel == "" {
			t.ResponseModel = t.Model
		}
		if t.MaxTokens == 0 {
			t.MaxTokens = defaultMaxTokens
		}
		fillDuration(&t.TTFT, defaultTTFT)
		fillDuration(&t.TokenTime, defaultTokenTime)
		fillCount(&t.InputTokens, defaultInputTokens)
		fillCount(&t.OutputTokens, defaultOutputTokens)
		if len(t.Shapes) == 0 {
			t.Shapes = map[string]float64{string(shapeGenAI): 1}
		}
	}
}

func fillDuration(d *durationDist, def durationDist) {
	if d.Median == 0 && d.Sigma == 0 {
		*d = def
	}
}

func fillCount(c *countDist, def countDist) {
	if c.Median == 0 && c.Sigma == 0 {
		*c = def
	}
}

// validate reports every invalid field, each named by its path.
func (s *scenario) validate() error {
	v := &validator{}
	if s.Name == "" {
		v.bad("name", "must not be empty")
	}
	s.Traffic.validate(v)
	if len(s.Phases) == 0 {
		v.bad("phases", "at least one phase is needed")
	}
	names := map[string]bool{}
	for i, p := range s.Phases {
		at := fmt.Sprintf("phases[%d]", i)
		if p.Name == "" {
			v.bad(at+".name", "must not be empty")
		} else if names[p.Name] {
			v.bad(at+".name", fmt.Sprintf("%q is used by an earlier phase", p.Name))
		}
		names[p.Name] = true
		if p.Duration <= 0 {
			v.bad(at+".duration", "must be positive")
		}
		for j, o := range p.Overrides {
			o.validate(v, fmt.Sprintf("%s.overrides[%d]", at, j), s.Traffic.Targets)
		}
	}
	return errors.Join(v.errs...)
}

func (tr *traffic) validate(v *validator) {
	tr.Errors.validate(v, "traffic.errors")
	v.probability("traffic.truncation", tr.Truncation)
	if tr.Timeout < 0 {
		v.bad("traffic.timeout", "must be positive")
	}
	if n := *tr.MaxRetries; n < 0 || n > 10 {
		v.bad("traffic.max_retries", fmt.Sprintf("must be 0 to 10, got %d", n))
	}
	if len(tr.Targets) == 0 {
		v.bad("traffic.targets", "at least one target is needed")
	}
	seen := map[string]bool{}
	for i, t := range tr.Targets {
		at := fmt.Sprintf("traffic.targets[%d]", i)
		if seen[t.label()] {
			v.bad(at, fmt.Sprintf("%s is listed twice", t.label()))
		}
		seen[t.label()] = true
		t.validate(v, at)
	}
}

func (t target) validate(v *validator, at string) {
	if _, ok := providers[t.Provider]; !ok {
		v.bad(at+".provider", fmt.Sprintf("%q is not one of %s", t.Provider, strings.Join(providerNames(), ", ")))
	}
	if t.Model == "" || strings.ContainsAny(t.Model, " \t\n") {
		v.bad(at+".model", "must be a non-empty name without spaces")
	}
	if !(t.Rate > 0) || math.IsInf(t.Rate, 0) {
		v.bad(at+".rate", "must be a positive number of calls per second")
	}
	v.probability(at+".stream", t.Stream)
	if t.MaxTokens < 1 {
		v.bad(at+".max_tokens", "must be at least 1")
	}
	v.lognormal(at+".ttft", float64(t.TTFT.Median), t.TTFT.Sigma)
	v.lognormal(at+".token_time", float64(t.TokenTime.Median), t.TokenTime.Sigma)
	v.lognormal(at+".input_tokens", t.InputTokens.Median, t.InputTokens.Sigma)
	v.lognormal(at+".output_tokens", t.OutputTokens.Median, t.OutputTokens.Sigma)
	total := 0.0
	for name, w := range t.Shapes {
		if !slices.Contains(shapeNames, shapeName(name)) {
			v.bad(at+".shapes."+name, fmt.Sprintf("unknown shape (one of %s)", joinShapes()))
		}
		if !(w >= 0) || math.IsInf(w, 0) {
			v.bad(at+".shapes."+name, "weight must be 0 or more")
		}
		total += w
	}
	if !(total > 0) {
		v.bad(at+".shapes", "weights must add up to more than 0")
	}
	if t.Errors != nil {
		t.Errors.validate(v, at+".errors")
	}
	if t.Truncation != nil {
		v.probability(at+".truncation", *t.Truncation)
	}
	if t.MaxRetries != nil && (*t.MaxRetries < 0 || *t.MaxRetries > 10) {
		v.bad(at+".max_retries", fmt.Sprintf("must be 0 to 10, got %d", *t.MaxRetries))
	}
	if strings.ContainsAny(t.Service, " \t\n") {
		v.bad(at+".service", "must be a name without spaces")
	}
}

func (o override) validate(v *validator, at string, targets []target) {
	matched := false
	for _, t := range targets {
		matched = matched || o.selects(t)
	}
	if !matched {
		v.bad(at+".target", fmt.Sprintf("%q (service %q) selects no target (use provider/model, provider or *, and a service of the targets)", o.Target, o.Service))
	}
	if o.Errors != nil {
		o.Errors.validate(v, at+".errors")
	}
	if o.Truncation != nil {
		v.probability(at+".truncation", *o.Truncation)
	}
	for _, f := range []struct {
		name string
		v    *float64
		min  float64 // a rate may drop to 0 (silence); a latency may not
	}{{"latency_factor", o.LatencyFactor, 1e-3}, {"ttft_factor", o.TTFTFactor, 1e-3}, {"rate_factor", o.RateFactor, 0}} {
		if f.v != nil && !(*f.v >= f.min && *f.v <= 1000) {
			v.bad(at+"."+f.name, fmt.Sprintf("must be %v to 1000, got %v", f.min, *f.v))
		}
	}
}

func (m errorMix) validate(v *validator, at string) {
	v.probability(at+".overloaded", m.Overloaded)
	v.probability(at+".rate_limited", m.RateLimited)
	v.probability(at+".server_error", m.ServerError)
	v.probability(at+".timeout", m.Timeout)
	if m.sum() > 1+1e-9 {
		v.bad(at, fmt.Sprintf("probabilities add up to %v, more than 1", m.sum()))
	}
}

// validator collects errors, each prefixed with the path of its field.
type validator struct{ errs []error }

func (v *validator) bad(field, msg string) { v.errs = append(v.errs, fmt.Errorf("%s: %s", field, msg)) }

func (v *validator) probability(field string, p float64) {
	if !(p >= 0 && p <= 1) {
		v.bad(field, fmt.Sprintf("must be a probability from 0 to 1, got %v", p))
	}
}

func (v *validator) lognormal(field string, median, sigma float64) {
	if !(median > 0) || math.IsInf(median, 0) {
		v.bad(field+".median", "must be positive")
	}
	if !(sigma >= 0 && sigma <= 3) {
		v.bad(field+".sigma", fmt.Sprintf("must be 0 to 3, got %v", sigma))
	}
}
