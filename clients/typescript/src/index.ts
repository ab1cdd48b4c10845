export { Watcher, type WatcherOptions } from './watcher.js';
export { SSEParser, type SSEEvent } from './sse.js';
export { Cache, type Change, type Report, type Verdict, type Policy, type State, effective, usableUnder } from './snapshot.js';
export { withFallback, outagewatchProvider, type FallbackEntry, type FallbackOptions } from './ai.js';
