// A Server-Sent Events reader as the HTML standard describes it
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
// for any text that arrives in pieces: lines may end with LF, CRLF or CR and be split
// anywhere between chunks (even between a CR and its LF); `data:` lines join with "\n";
// a line starting with ":" is a comment (a heartbeat); an event is complete only at a
// blank line, so a half-received one at the end of a stream is dropped. Plain
// TypeScript: no Node or DOM streams, so the worker's tests and the extension share it.

export interface SseEvent {
  /** The last `id:` seen on the stream so far (EventSource's lastEventId), '' if none. */
  id: string;
  /** The `event:` field, 'message' when absent. */
  event: string;
  data: string;
}

export interface SseParserOptions {
  /** Called for each comment line, with the text after the ':' (one leading space removed). */
  onComment?: (text: string) => void;
  /** Called for a `retry:` field: the server's reconnection delay in ms. */
  onRetry?: (ms: number) => void;
}

export interface SseParser {
  /** Feeds decoded text; returns the events that this chunk completed, in order. */
  push(chunk: string): SseEvent[];
  /** The last event id seen so far: what a reconnecting client sends as Last-Event-ID. */
  readonly lastEventId: string;
}

export function createSseParser(opts: SseParserOptions = {}): SseParser {
  let buf = '';
  let started = false;
  /** The previous chunk ended with CR: a LF at the start of the next one belongs to it. */
  let skipLf = false;
  let lastEventId = '';
  let eventType = '';
  let data: string[] = [];

  const line = (text: string, out: SseEvent[]): void => {
    if (text === '') {
      // Dispatch: an event without data is not one (only its id is kept).
      if (data.length > 0) out.push({ id: lastEventId, event: eventType || 'message', data: data.join('\n') });
      data = [];
      eventType = '';
      return;
    }
    if (text.startsWith(':')) {
      opts.onComment?.(text.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? '' : text.slice(colon + 1).replace(/^ /, '');
    switch (field) {
      case 'data':
        data.push(value);
        break;
      case 'event':
        eventType = value;
        break;
      case 'id':
        if (!value.includes('\u0000')) lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) opts.onRetry?.(Number(value));
        break;
      default:
        // Unknown fields are ignored.
        break;
    }
  };

  return {
    get lastEventId() {
      return lastEventId;
    },
    push(chunk: string): SseEvent[] {
      const out: SseEvent[] = [];
      let text = chunk;
      if (skipLf && text.length > 0) {
        if (text.startsWith('\n')) text = text.slice(1);
        skipLf = false;
      }
      if (!started && text.length > 0) {
        started = true;
        if (text.startsWith('\uFEFF')) text = text.slice(1);
      }
      buf += text;
      let from = 0;
      for (;;) {
        const cr = buf.indexOf('\r', from);
        const lf = buf.indexOf('\n', from);
        if (cr < 0 && lf < 0) break;
        const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
        line(buf.slice(from, end), out);
        if (buf[end] === '\r') {
          if (end + 1 < buf.length) from = buf[end + 1] === '\n' ? end + 2 : end + 1;
          else {
            // A CR at the very end: its LF, if any, comes with the next chunk.
            skipLf = true;
            from = end + 1;
          }
        } else from = end + 1;
      }
      buf = buf.slice(from);
      return out;
    },
  };
}

/** Reads an SSE body (bytes or text, e.g. a fetch Response's body) as events until it ends. */
export async function* readSse(body: AsyncIterable<Uint8Array | string>, opts: SseParserOptions = {}): AsyncGenerator<SseEvent> {
  const parser = createSseParser(opts);
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of body) {
    yield* parser.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  yield* parser.push(decoder.decode());
}
