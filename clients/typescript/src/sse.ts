/** One Server-Sent Event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface SSEEvent {
  /** The event type; "message" when the stream gave none. */
  event: string;
  /** The data lines joined with "\n". */
  data: string;
  /** The last event id seen on the stream (it carries over to later events that set none). */
  id: string;
  /** Whether this event itself carried an `id:` field. */
  hasId: boolean;
}

/**
 * An incremental SSE parser: feed it text chunks as they arrive, in any split; it calls onEvent
 * per dispatched event and onComment per comment line (such as `: heartbeat`). Lines may end in
 * \n, \r\n or \r, also split across chunks.
 */
export class SSEParser {
  private buf = '';
  private pendingCR = false;
  private data: string[] = [];
  private hasData = false;
  private eventType = '';
  private eventHasId = false;
  /** The last event id, as the spec's "last event ID buffer". */
  lastEventId = '';
  /** The last `retry:` value in ms, if any. */
  retry: number | undefined;

  constructor(
    private readonly onEvent: (e: SSEEvent) => void,
    private readonly onComment: (text: string) => void = () => {},
  ) {}

  feed(chunk: string): void {
    let s = chunk;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (s.startsWith('\n')) s = s.slice(1);
    }
    this.buf += s;
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buf.slice(start, i);
      if (c === 13) {
        if (i + 1 < this.buf.length) {
          if (this.buf.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
      this.line(line);
    }
    this.buf = this.buf.slice(start);
  }

  /** end drops an unterminated last event, as the spec says. */
  end(): void {
    this.buf = '';
    this.pendingCR = false;
    this.reset();
  }

  private reset(): void {
    this.data = [];
    this.hasData = false;
    this.eventType = '';
    this.eventHasId = false;
  }

  private line(line: string): void {
    if (line === '') {
      if (this.hasData) {
        this.onEvent({ event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastEventId, hasId: this.eventHasId });
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventId = value;
          this.eventHasId = true;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // ignored, as the spec says
    }
  }
}
