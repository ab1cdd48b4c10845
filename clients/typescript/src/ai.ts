import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import type { Watcher } from './watcher.js';

/** A model of the fallback list, with the provider and model names outagewatch knows it by. */
export interface FallbackEntry {
  model: LanguageModelV3;
  /** outagewatch's provider name; from model.provider ("openai.chat" → "openai", "google.*" → "gcp.gemini") when absent. */
  provider?: string;
  /** outagewatch's model name; model.modelId when absent. */
  modelId?: string;
}

export interface FallbackOptions {
  /**
   * While a model ahead in the list is unusable, one call in this many ms is still sent to it
   * first (a probe), so that outagewatch sees it recover; a probe that fails before any output goes
   * on to the next model, so no caller sees it fail. 0 disables probes (the model then comes back
   * when outagewatch calls it usable again, e.g. unknown after its silence timeout). Default 5000.
   */
  probeEveryMs?: number;
  /** Called when a call moves on to the next model. */
  onFallback?: (from: string, to: string, err: unknown) => void;
}

/** outagewatch's provider name for a Vercel provider id (docs/normalisation.md). */
export function outagewatchProvider(id: string): string {
  const first = id.split('.')[0] ?? id;
  if (first === 'google') return 'gcp.gemini';
  return first;
}

interface Resolved {
  model: LanguageModelV3;
  provider: string;
  modelId: string;
  name: string;
}

type Otel = { trace: { getActiveSpan(): { setAttributes(a: Record<string, string>): void } | undefined } };
let otel: Otel | null | undefined;
async function loadOtel(): Promise<void> {
  if (otel !== undefined) return;
  try {
    otel = (await import('@opentelemetry/api' as string)) as Otel;
  } catch {
    otel = null;
  }
}
void loadOtel();

/**
 * The model that served the call writes its names on the active span (the SDK's doGenerate or
 * doStream span, when telemetry is on), so that outagewatch counts the call for the model that
 * served it, not for the one first chosen.
 */
function label(r: Resolved): void {
  otel?.trace.getActiveSpan()?.setAttributes({
    'ai.model.provider': r.model.provider,
    'ai.model.id': r.model.modelId,
    'gen_ai.system': r.model.provider,
    'gen_ai.request.model': r.model.modelId,
  });
}

const OUTPUT = new Set(['text-start', 'text-delta', 'reasoning-start', 'reasoning-delta', 'tool-input-start', 'tool-input-delta', 'tool-call', 'tool-result', 'file', 'source', 'finish']);

/**
 * withFallback returns a LanguageModel (specification v3) that sends each call, generateText or
 * streamText, to the first model of the list that the watcher calls usable (the last one when
 * none is). A call that fails before any output, on a model the watcher now calls unusable, is
 * made again on the next usable model; any other failure is the caller's, as usual. Its
 * `provider` and `modelId` are those of the model a call would go to now, so the SDK's spans name
 * it.
 */
export function withFallback(watcher: Watcher, models: Array<LanguageModelV3 | FallbackEntry>, options: FallbackOptions = {}): LanguageModelV3 {
  if (models.length === 0) throw new Error('withFallback: give at least one model');
  const list: Resolved[] = models.map((m) => {
    const e: FallbackEntry = 'model' in m && typeof (m as FallbackEntry).model === 'object' ? (m as FallbackEntry) : { model: m as LanguageModelV3 };
    const provider = e.provider ?? outagewatchProvider(e.model.provider);
    const modelId = e.modelId ?? e.model.modelId;
    return { model: e.model, provider, modelId, name: `${provider}/${modelId}` };
  });
  const probeEvery = options.probeEveryMs ?? 5000;
  const lastProbe = new Map<string, number>();

  /** The order to try a call in: the usable models first, in list order, with a due probe before them. */
  const order = (): Resolved[] => {
    const usable = list.filter((r) => watcher.usable(r.provider, r.modelId));
    const now = Date.now();
    if (probeEvery > 0 && usable.length > 0) {
      const firstUsable = list.indexOf(usable[0]!);
      for (let i = 0; i < firstUsable; i++) {
        const r = list[i]!;
        if (now - (lastProbe.get(r.name) ?? 0) >= probeEvery) {
          lastProbe.set(r.name, now);
          return [r, ...usable];
        }
      }
    }
    return usable.length > 0 ? usable : [list[list.length - 1]!];
  };
  const current = (): Resolved => {
    const u = list.find((r) => watcher.usable(r.provider, r.modelId));
    return u ?? list[list.length - 1]!;
  };

  const moveOn = (tried: Resolved, next: Resolved | undefined, err: unknown): boolean => {
    if (!next) return false;
    if (watcher.usable(tried.provider, tried.modelId) && !probing.has(tried)) return false;
    options.onFallback?.(tried.name, next.name, err);
    return true;
  };
  const probing = new Set<Resolved>();

  const model: LanguageModelV3 = {
    specificationVersion: 'v3',
    get provider() {
      return current().model.provider;
    },
    get modelId() {
      return current().model.modelId;
    },
    get supportedUrls() {
      return current().model.supportedUrls;
    },
    async doGenerate(opts: LanguageModelV3CallOptions) {
      const tries = order();
      for (let i = 0; ; i++) {
        const r = tries[i]!;
        const isProbe = !watcher.usable(r.provider, r.modelId);
        if (isProbe) probing.add(r);
        try {
          label(r);
          return await r.model.doGenerate(opts);
        } catch (err) {
          if (opts.abortSignal?.aborted || !moveOn(r, tries[i + 1], err)) throw err;
        } finally {
          probing.delete(r);
        }
      }
    },
    async doStream(opts: LanguageModelV3CallOptions) {
      const tries = order();
      for (let i = 0; ; i++) {
        const r = tries[i]!;
        const isProbe = !watcher.usable(r.provider, r.modelId);
        if (isProbe) probing.add(r);
        try {
          label(r);
          const res = await r.model.doStream(opts);
          // Read up to the first output: an error before it (an in-stream error event) is a
          // failure before any output, like an HTTP error status.
          const reader = res.stream.getReader();
          const head: LanguageModelV3StreamPart[] = [];
          let failed: unknown;
          let done = false;
          for (;;) {
            const next = await reader.read();
            if (next.done) {
              done = true;
              break;
            }
            const part = next.value;
            if (part.type === 'error') {
              failed = part.error;
              break;
            }
            head.push(part);
            if (OUTPUT.has(part.type)) break;
          }
          if (failed !== undefined && moveOn(r, tries[i + 1], failed) && !opts.abortSignal?.aborted) {
            reader.cancel().catch(() => {});
            continue;
          }
          if (failed !== undefined) head.push({ type: 'error', error: failed });
          const stream = new ReadableStream<LanguageModelV3StreamPart>({
            start(c) {
              for (const p of head) c.enqueue(p);
              if (done) c.close();
            },
            async pull(c) {
              if (done) return;
              const next = await reader.read();
              if (next.done) {
                done = true;
                c.close();
              } else c.enqueue(next.value);
            },
            cancel(reason) {
              return reader.cancel(reason);
            },
          });
          return { ...res, stream };
        } catch (err) {
          if (opts.abortSignal?.aborted || !moveOn(r, tries[i + 1], err)) throw err;
        } finally {
          probing.delete(r);
        }
      }
    },
  };
  return model;
}
