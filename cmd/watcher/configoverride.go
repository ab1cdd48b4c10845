package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// The settings that choose the file rather than override a field of it.
const (
	envConfig       = "OUTAGEWATCH_CONFIG"
	flagConfig      = "config"
	flagConfigCheck = "config.check"
)

// field points at one string field of a Config; an environment variable and a flag may share it.
type field func(*Config) *string

var (
	logLevelField  field = func(c *Config) *string { return &c.Log.Level }
	logFormatField field = func(c *Config) *string { return &c.Log.Format }
	apiAddrField   field = func(c *Config) *string { return &c.API.Addr }
	grpcAddrField  field = func(c *Config) *string { return &c.Ingest.GRPCAddr }
	httpAddrField  field = func(c *Config) *string { return &c.Ingest.HTTPAddr }
	dataDirField   field = func(c *Config) *string { return &c.Store.DataDir }
	dsnField       field = func(c *Config) *string { return (*string)(&c.Store.PostgresDSN) }
	tokenField     field = func(c *Config) *string { return (*string)(&c.API.Token) }
	grafanaField   field = func(c *Config) *string { return &c.Links.GrafanaURL }
	botTokenField  field = func(c *Config) *string { return (*string)(&c.Alerts.BotToken) }
	webhookField   field = func(c *Config) *string { return (*string)(&c.Alerts.WebhookURL) }
	channelField   field = func(c *Config) *string { return &c.Alerts.Channel }
	slackAPIField  field = func(c *Config) *string { return &c.Alerts.SlackAPIURL }
	advertiseField field = func(c *Config) *string { return &c.Cluster.Advertise }
)

// envVar is one OUTAGEWATCH_* variable. An empty value counts as unset.
type envVar struct {
	name string
	// secret makes name_FILE an alternative to name (see secretFromEnv). A secret never gets a
	// flag, since anyone on the host can read flags with ps.
	secret bool
	set    func(*Config, string) error
}

// envVars is every variable but OUTAGEWATCH_CONFIG, which loadConfig reads before the file. The
// names are a public interface (README.md, "Configuration"); a new one is one line, e.g.
//
//	{name: "OUTAGEWATCH_POSTGRES_DSN", secret: true, set: setString(postgresDSNField)},
var envVars = []envVar{
	{name: "OUTAGEWATCH_LOG_LEVEL", set: setString(logLevelField)},
	{name: "OUTAGEWATCH_LOG_FORMAT", set: setString(logFormatField)},
	{name: "OUTAGEWATCH_API_ADDR", set: setString(apiAddrField)},
	{name: "OUTAGEWATCH_OTLP_GRPC_ADDR", set: setString(grpcAddrField)},
	{name: "OUTAGEWATCH_OTLP_HTTP_ADDR", set: setString(httpAddrField)},
	{name: "OUTAGEWATCH_DATA_DIR", set: setString(dataDirField)},
	{name: "OUTAGEWATCH_POSTGRES_DSN", secret: true, set: setString(dsnField)},
	{name: "OUTAGEWATCH_API_TOKEN", secret: true, set: setString(tokenField)},
	{name: "OUTAGEWATCH_GRAFANA_URL", set: setString(grafanaField)},
	{name: "OUTAGEWATCH_SLACK_BOT_TOKEN", secret: true, set: setString(botTokenField)},
	{name: "OUTAGEWATCH_SLACK_WEBHOOK_URL", secret: true, set: setString(webhookField)},
	{name: "OUTAGEWATCH_SLACK_CHANNEL", set: setString(channelField)},
	{name: "OUTAGEWATCH_SLACK_API_URL", set: setString(slackAPIField)},
	{name: "OUTAGEWATCH_CLUSTER_ADVERTISE", set: setString(advertiseField)},
	{name: "OUTAGEWATCH_MEMORY_LIMIT", set: setMemoryLimit},
}

// setMemoryLimit parses memory.limit: bytes, a size such as 512MiB, "auto" (or 0) or "none".
func setMemoryLimit(c *Config, v string) error { return c.Memory.Limit.UnmarshalText([]byte(v)) }

// setString returns a setter that stores the value in f as it is.
func setString(f field) func(*Config, string) error {
	return func(c *Config, v string) error {
		*f(c) = v
		return nil
	}
}

// applyEnv sets the fields whose variables are set, and reports every variable it could not use.
func applyEnv(cfg *Config, getenv func(string) string) error {
	var errs []error
	for _, v := range envVars {
		value, err := v.lookup(getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if value == "" {
			continue
		}
		if err := v.set(cfg, value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.name, err))
		}
	}
	return errors.Join(errs...)
}

func (v envVar) lookup(getenv func(string) string) (string, error) {
	if v.secret {
		return secretFromEnv(getenv, v.name)
	}
	return getenv(v.name), nil
}

// flagVar is one flag that overrides a field. Secrets never get one (see envVar.secret).
type flagVar struct {
	name  string
	usage string
	field field
}

// flagVars are the overriding flags. Only the flags given on the command line override, so an
// explicit -otlp.grpc.addr= disables the gRPC receiver whatever the file and environment say.
var flagVars = []flagVar{
	{name: "log.level", usage: "lowest level logged: debug, info, warn or error", field: logLevelField},
	{name: "log.format", usage: "log format: text or json", field: logFormatField},
	{name: "api.addr", usage: "API listen `address` (health, incidents, /metrics)", field: apiAddrField},
	{name: "otlp.grpc.addr", usage: `OTLP/gRPC listen ` + "`address`" + ` ("" disables it)`, field: grpcAddrField},
	{name: "otlp.http.addr", usage: `OTLP/HTTP listen ` + "`address`" + ` ("" disables it)`, field: httpAddrField},
	{name: "cluster.advertise", usage: "host:port the other replicas reach this one's OTLP gRPC listener at (\"\": the bound address)", field: advertiseField},
}

// newFlagSet defines every flag, with the defaults shown in the usage. It prints nothing:
// parseFlags turns everything into errors.
func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("watcher", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.String(flagConfig, "", "YAML configuration `file` (or "+envConfig+")")
	fs.Bool(flagConfigCheck, false, "validate the configuration and exit")
	def := DefaultConfig()
	for _, f := range flagVars {
		fs.String(f.name, *f.field(&def), f.usage)
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return helpError{usage: usage(fs)}
	case err != nil:
		return fmt.Errorf("parse flags: %w", err)
	case fs.NArg() > 0:
		return fmt.Errorf("parse flags: unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// applyFlags sets the fields of the flags given on the command line, and only those.
func applyFlags(cfg *Config, fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		for _, v := range flagVars {
			if v.name == f.Name {
				*v.field(cfg) = f.Value.String()
			}
		}
	})
}

// helpError answers -h: it wraps flag.ErrHelp, and its text is the usage.
type helpError struct{ usage string }

func (e helpError) Error() string { return e.usage }
func (e helpError) Unwrap() error { return flag.ErrHelp }

func usage(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("Usage: watcher [flags]\n\nFlags (they override the environment):\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	b.WriteString("\nEnvironment (it overrides the configuration file):\n  " + envConfig + "\n")
	for _, v := range envVars {
		b.WriteString("  " + v.name)
		if v.secret {
			b.WriteString(" (or " + v.name + "_FILE)")
		}
		b.WriteString("\n")
	}
	return b.String()
}
