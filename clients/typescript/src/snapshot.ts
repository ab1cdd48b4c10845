/** The states of docs/health-api.md. */
export type State = 'healthy' | 'degraded' | 'down' | 'unknown';

export interface Policy {
  failDegraded: boolean;
  failUnknown: boolean;
}

/** The part of a /v1/health body the client reads. */
export interface Report {
  version: number;
  providers?: Array<{
    provider: string;
    state?: string;
    models?: Array<{ model: string; state?: string; reasons?: Array<{ detector?: string; caller?: string }> }>;
  }>;
}

/** A `change` event of /v1/health/stream. */
export interface Change {
  version: number;
  provider: string;
  model: string;
  from?: string;
  to: string;
  usable?: boolean;
  caller?: string;
}

export interface Verdict {
  state: string;
  usable: boolean;
  /** the series itself is in the answer */
  known: boolean;
}

export function usableUnder(p: Policy, state: string): boolean {
  switch (state) {
    case 'down':
      return false;
    case 'degraded':
      return !p.failDegraded;
    case 'healthy':
      return true;
  }
  return !p.failUnknown; // unknown, or a state this client does not know: fail open unless told
}

/** A model's effective state: its own, or its provider's when it has none and that is degraded or down. */
export function effective(model: string, provider: string): string {
  if (model === 'unknown' && (provider === 'degraded' || provider === 'down')) return provider;
  return model;
}

const orUnknown = (s: string | undefined): string => (s ? s : 'unknown');

interface ProviderEntry {
  state: string;
  /** model name → its own state (not the effective one) */
  models: Map<string, string>;
}

/**
 * The cache: the last answer with the changes since applied. It keeps each model's own state, so
 * that a provider's change moves the effective state of its models without evidence of their own,
 * as the daemon does. A caller's own verdict change (a `change` event with `caller`, on a stream
 * opened with ?service= or ?endpoint=) is held as an override of the series' usability until the
 * next snapshot.
 */
export class Cache {
  version = 0;
  private providers = new Map<string, ProviderEntry>();
  private overrides = new Map<string, boolean>();

  constructor(readonly policy: Policy) {}

  /** replace makes a full answer (a snapshot event, or GET /v1/health) the cache. */
  replace(r: Report): void {
    const providers = new Map<string, ProviderEntry>();
    for (const p of r.providers ?? []) {
      const models = new Map<string, string>();
      for (const m of p.models ?? []) {
        // The answer's model states are effective: a model whose state is its provider's says so
        // with a first reason `provider`; its own state is then unknown.
        const own = m.reasons?.[0]?.detector === 'provider' ? 'unknown' : orUnknown(m.state);
        models.set(m.model, own);
      }
      providers.set(p.provider, { state: orUnknown(p.state), models });
    }
    this.providers = providers;
    this.overrides = new Map();
    this.version = r.version ?? 0;
  }

  /** apply applies one change event. */
  apply(c: Change): void {
    if (typeof c.version === 'number') this.version = c.version;
    const key = `${c.provider}\u0000${c.model ?? ''}`;
    if (c.caller) {
      if (typeof c.usable === 'boolean') this.overrides.set(key, c.usable);
      return;
    }
    let p = this.providers.get(c.provider);
    if (!p) {
      p = { state: 'unknown', models: new Map() };
      this.providers.set(c.provider, p);
    }
    if (!c.model) p.state = orUnknown(c.to);
    else p.models.set(c.model, orUnknown(c.to));
    this.overrides.delete(key);
  }

  /** lookup returns the verdict on a series; model "" asks about the provider. */
  lookup(provider: string, model: string): Verdict {
    const v = this.plain(provider, model);
    const o = this.overrides.get(`${provider}\u0000${model}`);
    if (o !== undefined) return { ...v, usable: o };
    return v;
  }

  private plain(provider: string, model: string): Verdict {
    const p = this.providers.get(provider);
    if (!p) return { state: 'unknown', usable: usableUnder(this.policy, 'unknown'), known: false };
    if (!model) return { state: p.state, usable: usableUnder(this.policy, p.state), known: true };
    const own = p.models.get(model);
    const state = effective(own ?? 'unknown', p.state);
    return { state, usable: usableUnder(this.policy, state), known: own !== undefined };
  }
}
