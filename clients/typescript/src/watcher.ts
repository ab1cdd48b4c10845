import { SSEParser, type SSEEvent } from './sse.js';
import { Cache, type Change, type Report, type Verdict } from './snapshot.js';

export interface WatcherOptions {
  /** fetch to use; globalThis.fetch when absent. */
  fetch?: typeof fetch;
  /** FailDegraded makes degraded series unusable; FailUnknown makes unknown and never-seen ones unusable. */
  failDegraded?: boolean;
  failUnknown?: boolean;
  /** Ask as this caller (?service= or ?endpoint=); at most one. */
  service?: string;
  endpoint?: string;
  /** Backoff bounds after a failure, ms: 100 and 5000 by default (exponential, jittered to half..all). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Long-poll wait, ms, in long-poll mode (30 000 by default, at most 300 000). */
  waitMs?: number;
  /** "stream" (default): follow /v1/health/stream, falling back to long-poll when the daemon has no stream; "poll": long-poll only. */
  mode?: 'stream' | 'poll';
  /** Receives failures and recoveries; nothing is logged when absent. */
  onLog?: (level: 'warn' | 'info' | 'debug', msg: string, attrs?: Record<string, unknown>) => void;
}

/** How late a long-poll answer, or the stream's next heartbeat (every 15 s), may come before the answer held is called stale. */
const GRACE_MS = 10_000;
const HEARTBEAT_MS = 15_000;
const POLL_FLOOR_MS = 1_000;

/**
 * Watcher follows outagewatch's health signal and answers usable() from memory, synchronously.
 * Like the Go client (health/client): until the first answer every series is unknown (usable unless
 * failUnknown); while the daemon is unreachable it keeps the last answer, staleness() grows, and
 * it retries with exponential, jittered backoff; a shutdown event makes it reconnect at once (to
 * another replica when there is one) and resume from its Last-Event-ID.
 */
export class Watcher {
  private readonly base: string;
  private readonly opts: Required<Pick<WatcherOptions, 'minBackoffMs' | 'maxBackoffMs' | 'waitMs'>> & WatcherOptions;
  private readonly cache: Cache;
  private readonly created = Date.now();
  private lastOK = -1;
  private fresh = false;
  private freshWindow = HEARTBEAT_MS + GRACE_MS;
  private closed = false;
  private abort = new AbortController();
  private lastEventId = '';
  private mode: 'stream' | 'poll';
  private readyResolve!: () => void;
  private loop: Promise<void>;
  /** Resolves after the first successful answer. */
  readonly ready: Promise<void>;

  constructor(baseURL: string, options: WatcherOptions = {}) {
    const u = new URL(baseURL);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.host) throw new Error(`base url ${baseURL}: want http://host:port`);
    if (options.service && options.endpoint) throw new Error('service and endpoint: give at most one');
    this.base = `${u.origin}${u.pathname.replace(/\/+$/, '')}/v1/health`;
    this.opts = { minBackoffMs: 100, maxBackoffMs: 5000, waitMs: 30_000, ...options };
    if (this.opts.waitMs <= 0 || this.opts.waitMs > 300_000) throw new Error('waitMs: must be in (0, 300000]');
    if (this.opts.maxBackoffMs < this.opts.minBackoffMs) throw new Error('maxBackoffMs must be at least minBackoffMs');
    this.cache = new Cache({ failDegraded: !!options.failDegraded, failUnknown: !!options.failUnknown });
    this.mode = options.mode ?? 'stream';
    this.ready = new Promise((r) => (this.readyResolve = r));
    this.loop = this.run();
  }

  /** usable reports whether a router may send to provider's model (model "" asks about the provider). */
  usable(provider: string, model = ''): boolean {
    return this.cache.lookup(provider, model).usable;
  }

  /** state returns the effective state of a series and whether the answer lists the series itself. */
  state(provider: string, model = ''): Verdict {
    return this.cache.lookup(provider, model);
  }

  /** version of the answer held (0 before the first). */
  version(): number {
    return this.cache.version;
  }

  /** How the watcher follows the daemon now: "stream", or "poll" after a fallback. */
  transport(): 'stream' | 'poll' {
    return this.mode;
  }

  /**
   * staleness is how old the answer held is, in ms: 0 while connected (no request failed since the
   * last answer, and the stream's last event or heartbeat, or the last long-poll answer, is recent
   * enough), else the time since the last successful answer; before the first, the time since the
   * watcher was made.
   */
  staleness(): number {
    const now = Date.now();
    if (this.lastOK < 0) return now - this.created;
    const age = now - this.lastOK;
    if (this.fresh && age <= this.freshWindow) return 0;
    return age;
  }

  /** close stops following; usable() keeps answering from the last answer. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.loop.catch(() => {});
  }

  private query(extra: Record<string, string> = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    if (this.opts.failDegraded) q.set('fail_degraded', '1');
    if (this.opts.failUnknown) q.set('fail_unknown', '1');
    if (this.opts.service) q.set('service', this.opts.service);
    else if (this.opts.endpoint) q.set('endpoint', this.opts.endpoint);
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  private log(level: 'warn' | 'info' | 'debug', msg: string, attrs?: Record<string, unknown>): void {
    this.opts.onLog?.(level, msg, attrs);
  }

  private ok(): void {
    this.lastOK = Date.now();
    this.fresh = true;
    this.readyResolve();
  }

  private backoff(n: number): number {
    let d = this.opts.minBackoffMs;
    for (let i = 1; i < n && d < this.opts.maxBackoffMs; i++) d *= 2;
    d = Math.min(d, this.opts.maxBackoffMs);
    return d / 2 + Math.random() * (d / 2);
  }

  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(false);
      const t = setTimeout(() => {
        this.abort.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        resolve(false);
      };
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    let failedAt = 0;
    let after = -1; // long-poll: the version to poll after, -1 for a full answer first
    while (!this.closed) {
      const start = Date.now();
      let outcome: 'ok' | 'reconnect' | 'fail';
      let err: unknown;
      try {
        if (this.mode === 'stream') {
          outcome = await this.stream(() => {
            if (failures > 0) {
              this.log('info', 'health answers resumed', { failures, stale_for_ms: Date.now() - failedAt, version: this.cache.version });
              failures = 0;
            }
          });
        } else {
          const v = await this.poll(after);
          if (failures > 0) {
            this.log('info', 'health answers resumed', { failures, stale_for_ms: Date.now() - failedAt, version: v });
            failures = 0;
          }
          const early = after >= 0 && v === after && Date.now() - start < this.opts.waitMs / 2;
          after = v;
          outcome = 'ok';
          if (early && !(await this.sleep(POLL_FLOOR_MS))) return;
        }
      } catch (e) {
        outcome = 'fail';
        err = e;
      }
      if (this.closed) return;
      if (outcome === 'ok') continue;
      if (outcome === 'reconnect') {
        // The daemon is shutting down: reconnect after a short pause, keeping the answer held.
        if (!(await this.sleep(this.opts.minBackoffMs))) return;
        continue;
      }
      this.fresh = false;
      if (failures === 0) failedAt = start;
      failures++;
      after = -1; // the daemon may have restarted with a lower version: start from a full answer
      const d = this.backoff(failures);
      this.log(failures === 1 ? 'warn' : 'debug', 'health follow failed', { err: String(err), failures, retry_in_ms: Math.round(d), mode: this.mode });
      if (!(await this.sleep(d))) return;
    }
  }

  private fetchFn(): typeof fetch {
    return this.opts.fetch ?? globalThis.fetch;
  }

  /** poll makes one request: a long-poll from version after, or a full GET when after < 0. */
  private async poll(after: number): Promise<number> {
    const q = after >= 0 ? this.query({ wait: `${Math.round(this.opts.waitMs / 1000)}s`, after: String(after) }) : this.query();
    const timeout = after >= 0 ? this.opts.waitMs + GRACE_MS : GRACE_MS;
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeout)]);
    const resp = await this.fetchFn()(this.base + q, { headers: { accept: 'application/json' }, signal });
    if (resp.status !== 200) {
      const text = (await resp.text().catch(() => '')).slice(0, 256);
      throw new Error(`get ${this.base}${q}: status ${resp.status}: ${text.trim()}`);
    }
    const rep = (await resp.json()) as Report;
    this.cache.replace(rep);
    this.freshWindow = this.opts.waitMs + GRACE_MS;
    this.ok();
    return this.cache.version;
  }

  /**
   * stream follows /v1/health/stream until it ends: "reconnect" after a shutdown event (or a clean
   * end), an exception on a failure. A daemon without the stream (404, 405, 501, or an answer that
   * is not text/event-stream) switches the watcher to long-polling.
   */
  private async stream(onFirst: () => void): Promise<'reconnect'> {
    const local = new AbortController();
    const signal = AbortSignal.any([this.abort.signal, local.signal]);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => local.abort(new Error(`no event or heartbeat for ${HEARTBEAT_MS + GRACE_MS} ms`)), HEARTBEAT_MS + GRACE_MS);
    };
    arm();
    try {
      const resp = await this.fetchFn()(`${this.base}/stream${this.query()}`, { headers, signal });
      const ct = resp.headers.get('content-type') ?? '';
      if (resp.status === 404 || resp.status === 405 || resp.status === 501 || (resp.status === 200 && !ct.includes('text/event-stream'))) {
        await resp.body?.cancel().catch(() => {});
        this.log('warn', 'health stream unavailable: long-polling instead', { status: resp.status, content_type: ct });
        this.mode = 'poll';
        return 'reconnect';
      }
      if (resp.status !== 200 || !resp.body) {
        const text = (await resp.text().catch(() => '')).slice(0, 256);
        throw new Error(`get ${this.base}/stream: status ${resp.status}: ${text.trim()}`);
      }
      let first = true;
      let shutdown = false;
      const parser = new SSEParser(
        (e: SSEEvent) => {
          arm();
          if (this.handle(e)) shutdown = true;
          if (first && (e.event === 'snapshot' || e.event === 'change')) {
            first = false;
            onFirst();
          }
        },
        () => {
          arm();
          if (!first) {
            this.lastOK = Date.now(); // a heartbeat: nothing changed, the answer held is current
            this.fresh = true;
          }
        },
      );
      const decoder = new TextDecoder();
      const reader = resp.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(decoder.decode(value, { stream: true }));
          if (shutdown) break;
        }
      } finally {
        reader.cancel().catch(() => {});
      }
      if (shutdown) return 'reconnect';
      throw new Error('health stream ended without a shutdown event');
    } catch (e) {
      if (local.signal.aborted && !this.abort.signal.aborted) throw local.signal.reason;
      throw e;
    } finally {
      clearTimeout(watchdog);
    }
  }

  /** handle applies one stream event; it reports a shutdown event. */
  private handle(e: SSEEvent): boolean {
    switch (e.event) {
      case 'snapshot': {
        this.cache.replace(JSON.parse(e.data) as Report);
        if (e.hasId) this.lastEventId = e.id;
        else this.lastEventId = String(this.cache.version);
        this.freshWindow = HEARTBEAT_MS + GRACE_MS;
        this.ok();
        return false;
      }
      case 'change': {
        this.cache.apply(JSON.parse(e.data) as Change);
        if (e.hasId) this.lastEventId = e.id;
        this.ok();
        return false;
      }
      case 'local': {
        // Another caller's verdict: not the series' state. It moves the version all the same.
        const c = JSON.parse(e.data) as Change;
        if (typeof c.version === 'number') this.cache.version = c.version;
        if (e.hasId) this.lastEventId = e.id;
        this.ok();
        return false;
      }
      case 'shutdown':
        this.log('info', 'outagewatch is shutting down: reconnecting', { data: e.data });
        return true;
      default:
        return false;
    }
  }
}
