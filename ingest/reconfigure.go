package ingest

import "maps"

// SetProviderHosts replaces the provider endpoints configured in ingest.provider_hosts (host or
// host:port → provider), which extend the built-in ones, while the pipeline runs (a
// configuration reload). hosts is checked as Config.Validate checks provider_hosts; when it is
// invalid, the error names every bad entry and nothing changes.
//
// It is safe to call from any goroutine while requests are read: every span read after it
// returns, on the fast path as on pdata's, is attributed with the new table; a span read
// meanwhile with the old or the new one. The table is swapped atomically: reading a span takes
// no lock. Records already queued keep the provider they were read with, and what the pipeline
// learned of unknown hosts (Hosts) is kept. hosts is not retained.
func (p *Pipeline) SetProviderHosts(hosts map[string]string) error {
	// provider_hosts is checked in Config.Validate, alongside fields the defaults satisfy.
	check := DefaultConfig()
	check.ProviderHosts = hosts
	if err := check.Validate(); err != nil {
		return err
	}
	p.norm.SetProviderHosts(hosts)
	kept := maps.Clone(hosts)
	p.providerHosts.Store(&kept)
	p.logger.Info("provider hosts reloaded", "hosts", len(hosts))
	return nil
}

// ProviderHosts returns the provider hosts in force (ingest.provider_hosts, or the last
// SetProviderHosts): the caller must not change the map.
func (p *Pipeline) ProviderHosts() map[string]string { return *p.providerHosts.Load() }
