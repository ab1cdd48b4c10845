package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/ingest"
	"github.com/outagewatch/outagewatch/internal/bearer"
	"github.com/outagewatch/outagewatch/internal/memlimit"
	"github.com/outagewatch/outagewatch/internal/strictyaml"
	"github.com/outagewatch/outagewatch/internal/tlsfiles"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// Config is the whole daemon configuration. loadConfig fills it from, in rising precedence,
// DefaultConfig, the YAML file, the OUTAGEWATCH_* environment and the flags.
type Config struct {
	Log       LogConfig        `yaml:"log"`
	API       APIConfig        `yaml:"api"`
	Ingest    ingest.Config    `yaml:"ingest"`
	Detectors detectors.Config `yaml:"detectors"`
	Health    HealthConfig     `yaml:"health"`
	Store     StoreConfig      `yaml:"store"`
	Incidents incidents.Config `yaml:"incidents"`
	Links     LinksConfig      `yaml:"links"`
	Alerts    alerts.Config    `yaml:"alerts"`
	Cluster   ClusterConfig    `yaml:"cluster"`
	// ProviderStatus reads the providers' own status pages, shown beside our verdict
	// (docs/vendorstatus.md); enabled: false for an air-gapped site.
	ProviderStatus vendorstatus.Config `yaml:"provider_status"`
	// Memory is the process's memory ceiling, its Go soft limit and where load shedding starts
	// (docs/operations.md, "Memory").
	Memory memlimit.Config `yaml:"memory"`
}

// ClusterConfig configures a replica of a cluster: replicas that share a Postgres DSN form one
// (docs/cluster.md), over their OTLP gRPC listeners.
type ClusterConfig struct {
	// Advertise is the host:port the other replicas reach this one's OTLP gRPC listener at
	// (OUTAGEWATCH_CLUSTER_ADVERTISE); "" uses the bound address, with the host name in place of
	// an unspecified host (0.0.0.0, ::), as in a pod.
	Advertise string `yaml:"advertise"`
}

// validate checks the advertised address's form.
func (c ClusterConfig) validate() error {
	if c.Advertise == "" {
		return nil
	}
	if host, port, err := net.SplitHostPort(c.Advertise); err != nil || host == "" || port == "" {
		return fmt.Errorf("cluster.advertise: want host:port, not %q", c.Advertise)
	}
	return nil
}

// clustered reports whether this replica joins a cluster: a Postgres DSN and an OTLP gRPC
// listener, which the cluster's services share.
func (c Config) clustered() bool { return c.Store.PostgresDSN != "" && c.Ingest.GRPCAddr != "" }

// Secret is a string that never prints: a DSN with its password, a token. It can only be set
// from the environment (or a *_FILE), never from a flag or the YAML file.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// StoreConfig chooses where incidents and baselines are kept.
type StoreConfig struct {
	// PostgresDSN switches from the embedded SQLite file to Postgres
	// (OUTAGEWATCH_POSTGRES_DSN or OUTAGEWATCH_POSTGRES_DSN_FILE only).
	PostgresDSN Secret `yaml:"-"`
	// DataDir holds the embedded SQLite database (outagewatch.db) when no DSN is set.
	DataDir string `yaml:"data_dir"`
	// BaselineInterval is how often the detectors' baselines are saved.
	BaselineInterval time.Duration `yaml:"baseline_interval"`
}

// LinksConfig holds the base URLs that alerts link to.
type LinksConfig struct {
	// GrafanaURL is the Grafana base URL (OUTAGEWATCH_GRAFANA_URL).
	GrafanaURL string `yaml:"grafana_url"`
	// APIURL is how people reach this daemon's API (for links to /v1/health and incidents).
	APIURL string `yaml:"api_url"`
}

// HealthConfig configures the health signal's transports.
type HealthConfig struct {
	// GRPCAddr serves grpc.health.v1.Health on an address of its own; "" serves it on the OTLP
	// gRPC listener only.
	GRPCAddr string `yaml:"grpc_addr"`
	// SSEHeartbeat is the interval of heartbeats on /v1/health/stream.
	SSEHeartbeat time.Duration `yaml:"sse_heartbeat"`
}

// LogConfig configures the daemon's slog handler.
type LogConfig struct {
	// Level is the lowest level logged: debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text (human readable) or json (for log shippers; use it in production).
	Format string `yaml:"format"`
}

// APIConfig configures the API server: health, incidents, /metrics, /healthz and /readyz.
type APIConfig struct {
	// Addr is the listen address; ":0" picks a free port.
	Addr string `yaml:"addr"`
	// ShutdownTimeout bounds the graceful shutdown of the API server.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Pprof serves Go's profiler at /debug/pprof/ (off by default: it reveals internals and
	// costs CPU while a profile runs).
	Pprof bool `yaml:"pprof"`
	// Token is a bearer token of mutating calls (OUTAGEWATCH_API_TOKEN or its _FILE only),
	// named "env"; auth.tokens adds named tokens from files. Without any, mutations are refused.
	Token Secret `yaml:"-"`
	// TLS serves the API over TLS (mTLS with a client CA), certificates read again when their
	// files change.
	TLS tlsfiles.Config `yaml:"tls"`
	// Auth holds the API's bearer tokens.
	Auth APIAuthConfig `yaml:"auth"`
}

// APIAuthConfig is who may call the API: the tokens of mutations (acknowledge, resolve,
// silences, reload) and, when ProtectReads is set, of every read but /healthz and /readyz.
type APIAuthConfig struct {
	Tokens []bearer.TokenConfig `yaml:"tokens"`
	// ProtectReads requires a token on reads too: health, incidents, the status page, /metrics.
	ProtectReads bool `yaml:"protect_reads"`
}

// Log levels and formats accepted by LogConfig.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

// maxShutdownTimeout keeps a stuck shutdown from outliving any sane orchestrator grace period.
const maxShutdownTimeout = 5 * time.Minute

// DefaultConfig returns the documented defaults: info logs as text, the API on :9317 with a 15 s
// shutdown, ingest.DefaultConfig, and the memory ceiling found from GOMEMLIMIT or the cgroup.
func DefaultConfig() Config {
	return Config{
		Log:            LogConfig{Level: "info", Format: "text"},
		API:            APIConfig{Addr: ":9317", ShutdownTimeout: 15 * time.Second},
		Ingest:         ingest.DefaultConfig(),
		Detectors:      detectors.DefaultConfig(),
		Health:         HealthConfig{SSEHeartbeat: 15 * time.Second},
		Store:          StoreConfig{DataDir: "data", BaselineInterval: 5 * time.Minute},
		Incidents:      incidents.DefaultConfig(),
		Alerts:         alerts.DefaultConfig(),
		ProviderStatus: vendorstatus.DefaultConfig(),
		Memory:         memlimit.DefaultConfig(),
	}
}

// Validate reports every invalid field, each named by its full path (api.shutdown_timeout).
func (c Config) Validate() error {
	var cluster error
	if c.clustered() && c.Ingest.TLS.Enabled() {
		// Replicas forward calls and replicate the board over the OTLP gRPC port in plaintext,
		// authenticated by the cluster's shared secret (docs/cluster.md); ingest.auth leaves
		// the cluster's services open to that secret.
		cluster = errors.New("ingest.tls: not supported in a cluster yet (replicas talk plaintext gRPC on the OTLP port); terminate TLS in front of the replicas")
	}
	return errors.Join(c.Log.validate(), c.API.validate(), c.Ingest.Validate(), c.Detectors.Validate(), c.Health.validate(),
		c.Store.validate(), c.Incidents.Validate(), c.alertsConfig().Validate(), c.Cluster.validate(), c.Memory.Validate(),
		c.ProviderStatus.Validate(), cluster)
}

func (c LogConfig) validate() error {
	var errs []error
	if !slices.Contains(logLevels, c.Level) {
		errs = append(errs, fmt.Errorf("log.level: must be one of %s, not %q", strings.Join(logLevels, ", "), c.Level))
	}
	if !slices.Contains(logFormats, c.Format) {
		errs = append(errs, fmt.Errorf("log.format: must be one of %s, not %q", strings.Join(logFormats, ", "), c.Format))
	}
	return errors.Join(errs...)
}

func (c APIConfig) validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("api.addr: must not be empty"))
	} else if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("api.addr: %w", err))
	}
	switch {
	case c.ShutdownTimeout <= 0:
		errs = append(errs, errors.New("api.shutdown_timeout: must be > 0"))
	case c.ShutdownTimeout > maxShutdownTimeout:
		errs = append(errs, errors.New("api.shutdown_timeout: must be at most 5m"))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("api.tls: %w", err))
	}
	if _, err := c.tokens(); err != nil {
		errs = append(errs, fmt.Errorf("api.auth: %w", err))
	}
	if c.Auth.ProtectReads && len(c.Auth.Tokens) == 0 && c.Token == "" {
		errs = append(errs, errors.New("api.auth.protect_reads: needs a token (api.auth.tokens or OUTAGEWATCH_API_TOKEN)"))
	}
	return errors.Join(errs...)
}

// envTokenName names OUTAGEWATCH_API_TOKEN among the API's tokens.
const envTokenName = "env"

// tokens loads the API's bearer tokens: auth.tokens' files, and OUTAGEWATCH_API_TOKEN named
// "env".
func (c APIConfig) tokens() (*bearer.Tokens, error) {
	t, err := bearer.Load(bearer.Config{Tokens: c.Auth.Tokens})
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		if t, err = t.With(envTokenName, string(c.Token)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// SlogLevel returns Level as a slog.Level; call it on a validated config.
func (c LogConfig) SlogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Level)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// options are the command-line settings that are not configuration.
type options struct {
	// configCheck asks the caller to exit after a successful load (-config.check).
	configCheck bool
	// configPath is the YAML file that was read, or "" when there was none.
	configPath string
}

// loadConfig parses the flags in args, reads the YAML file named by -config or OUTAGEWATCH_CONFIG,
// then applies the environment and the flags the user set: flags > env > YAML > defaults. It
// returns a validated config, or an error naming every bad field. -h gives an error that wraps
// flag.ErrHelp and whose text is the usage.
func loadConfig(args []string, getenv func(string) string) (Config, options, error) {
	fs := newFlagSet()
	if err := parseFlags(fs, args); err != nil {
		return Config{}, options{}, err
	}
	opts := options{configCheck: fs.Lookup(flagConfigCheck).Value.String() == "true"}
	opts.configPath = configPath(fs, getenv)
	cfg := DefaultConfig()
	if opts.configPath != "" {
		if err := decodeConfigFile(opts.configPath, &cfg); err != nil {
			return Config{}, opts, err
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return Config{}, opts, err
	}
	applyFlags(&cfg, fs)
	if err := cfg.Validate(); err != nil {
		return Config{}, opts, err
	}
	return cfg, opts, nil
}

// configPath is -config when set (even to ""), else OUTAGEWATCH_CONFIG.
func configPath(fs *flag.FlagSet, getenv func(string) string) string {
	path := getenv(envConfig)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == flagConfig {
			path = f.Value.String()
		}
	})
	return path
}

// decodeConfigFile decodes the YAML file at path strictly into cfg, over the values it holds.
func decodeConfigFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	return strictyaml.Decode(path, data, cfg)
}

// secretFromEnv returns the value of the environment variable name, or the contents of the file
// named by name_FILE without its trailing newline. Setting both is an error, so that a forgotten
// variable cannot silently shadow the file. It returns "" when neither is set.
func secretFromEnv(getenv func(string) string, name string) (string, error) {
	value, file := getenv(name), getenv(name+"_FILE")
	switch {
	case file == "":
		return value, nil
	case value != "":
		return "", fmt.Errorf("%s and %s_FILE are both set; set one", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("%s_FILE: %s is empty", name, file)
	}
	return secret, nil
}

func (c HealthConfig) validate() error {
	var errs []error
	if c.GRPCAddr != "" {
		if _, _, err := net.SplitHostPort(c.GRPCAddr); err != nil {
			errs = append(errs, fmt.Errorf("health.grpc_addr: %w", err))
		}
	}
	if c.SSEHeartbeat <= 0 {
		errs = append(errs, errors.New("health.sse_heartbeat: must be > 0"))
	}
	return errors.Join(errs...)
}

func (c StoreConfig) validate() error {
	var errs []error
	if c.PostgresDSN == "" && c.DataDir == "" {
		errs = append(errs, errors.New("store.data_dir: must not be empty without a Postgres DSN"))
	}
	if c.BaselineInterval < 10*time.Second {
		errs = append(errs, errors.New("store.baseline_interval: must be at least 10s"))
	}
	return errors.Join(errs...)
}

// alertsConfig is the alerts configuration with the links filled in from links.
func (c Config) alertsConfig() alerts.Config {
	a := c.Alerts
	a.Links = alerts.Links{GrafanaURL: c.Links.GrafanaURL, APIURL: c.Links.APIURL}
	return a
}
