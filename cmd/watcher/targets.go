package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/alerts/alertmanager"
	"github.com/outagewatch/outagewatch/alerts/webhook"
	"github.com/outagewatch/outagewatch/incidents"
)

// targetDestinations builds the destinations of alerts.targets: each target's secret and token
// files are read (at start and on every reload: that is how a rotated secret is taken), and each
// URL gets its notifier; an Alertmanager also gets its resender, which sends the alerts of the
// open incidents again every resend_interval.
func (a *app) targetDestinations(cfg alerts.Config) ([]alerts.Destination, error) {
	var out []alerts.Destination
	for i, t := range cfg.Targets {
		field := fmt.Sprintf("alerts.targets[%d]", i)
		token, err := readSecretFile(t.BearerTokenFile)
		if err != nil {
			return nil, fmt.Errorf("%s.bearer_token_file: %w", field, err)
		}
		switch t.Type {
		case alerts.TypeWebhook:
			secret, err := readSecretFile(t.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("%s.secret_file: %w", field, err)
			}
			n, err := webhook.New(webhook.Options{URL: t.URLs[0], Secret: secret, BearerToken: token, RunbookURL: t.RunbookURL, Links: cfg.Links})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			out = append(out, alerts.Destination{Name: t.Name, Match: t.Match, Notifier: n})
		case alerts.TypeAlertmanager:
			ds, err := a.alertmanagerDestinations(t, token, cfg.Links)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			out = append(out, ds...)
		}
	}
	return out, nil
}

// readSecretFile returns the file's content without surrounding white space; "" for no file.
func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// alertmanagerDestinations makes one destination per URL of an Alertmanager target: its
// notifier on its own queue, and its resender, which posts the alerts of the open incidents
// that the target's match holds and no silence mutes again every resend_interval, on the
// cluster's leader only.
func (a *app) alertmanagerDestinations(t alerts.TargetConfig, token string, links alerts.Links) ([]alerts.Destination, error) {
	silences := alerts.CheckSilences(a.store)
	sel := func(ctx context.Context, inc incidents.Incident, timeline []incidents.Event) bool {
		if !t.Match.Holds(inc, timeline) {
			return false
		}
		muted, err := silences.Silenced(ctx, inc.Provider, inc.Models, time.Now())
		return err == nil && !muted
	}
	var leading func() bool
	if a.cluster != nil {
		leading = a.cluster.node.Leading
	}
	var out []alerts.Destination
	for _, u := range t.URLs {
		n, err := alertmanager.New(alertmanager.Options{
			URL: u, BearerToken: token, RunbookURL: t.RunbookURL, Links: links, ResendInterval: t.ResendInterval,
		})
		if err != nil {
			return nil, err
		}
		name := alerts.DestinationName(t.Name, u)
		r, err := alertmanager.NewResender(alertmanager.ResenderOptions{
			Notifiers: []*alertmanager.Notifier{n}, Incidents: a.store, Select: sel, Leading: leading,
			Logger: a.logger.With("target", name),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, alerts.Destination{Name: name, Match: t.Match, Notifier: n, Beside: r.Run})
	}
	return out, nil
}
