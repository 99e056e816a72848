// The worker's live events (GET /events, Server-Sent Events) while delegations
// are in flight: job state changes and slot changes, the moment they happen.
// One connection for the window; it follows the set of jobs being watched,
// reconnects with backoff (sending Last-Event-ID, so nothing is missed), and says
// whether it is connected, so polling can stand in while it is not.
import { createSseParser } from '../../shared/sse.js';
import type { WorkerEvent } from '../../shared/events.js';
import { abortableSleep } from './backoff.js';

export interface EventSource {
  openEvents(jobIds: readonly string[], lastEventId: string | undefined, signal: AbortSignal): Promise<Response>;
}

export interface WorkerEventStreamOptions {
  /** The worker client now (settings may change), or undefined when none is configured. */
  source: () => EventSource | undefined;
  /** The jobs to follow; an empty list means: no connection at all. */
  jobIds: () => string[];
  onEvent(event: WorkerEvent): void;
  onConnected?(connected: boolean): void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  maxDelayMs?: number;
  /**
   * How long the connection stays after the last job ended: the worker frees the
   * slot just after a job's final event, and the status bar should see that too.
   */
  lingerMs?: number;
}

export class WorkerEventStream {
  private loop: AbortController | undefined;
  private following = '';
  private linger: NodeJS.Timeout | undefined;
  private lastEventId: string | undefined;
  connected = false;

  /** Whether it follows anything now (connected or trying to be). */
  get active(): boolean {
    return this.loop !== undefined;
  }

  constructor(private readonly o: WorkerEventStreamOptions) {}

  /** Connects, reconnects for a new set of jobs, or disconnects when there is nothing to follow. Cheap to call often. */
  refresh(): void {
    const ids = [...new Set(this.o.jobIds())].sort();
    const key = ids.join(',');
    if (this.loop && key === this.following) return;
    if (ids.length === 0) {
      if (this.loop && !this.linger) this.linger = setTimeout(() => this.stop(), this.o.lingerMs ?? 15_000);
      return;
    }
    this.stop();
    this.following = key;
    // A new connection (other jobs, maybe another worker) starts from a snapshot, not from an old id.
    this.lastEventId = undefined;
    const loop = new AbortController();
    this.loop = loop;
    void this.run(ids, loop.signal);
  }

  dispose(): void {
    this.stop();
  }

  private stop(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    this.loop?.abort();
    this.loop = undefined;
    this.following = '';
    this.setConnected(false);
  }

  private setConnected(value: boolean): void {
    if (this.connected === value) return;
    this.connected = value;
    this.o.onConnected?.(value);
  }

  private async run(ids: string[], signal: AbortSignal): Promise<void> {
    const sleep = this.o.sleep ?? abortableSleep;
    let attempt = 0;
    while (!signal.aborted) {
      const source = this.o.source();
      try {
        if (!source) throw new Error('no worker');
        const res = await source.openEvents(ids, this.lastEventId, signal);
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        this.setConnected(true);
        attempt = 0;
        const parser = createSseParser();
        const decoder = new TextDecoder();
        const reader = res.body.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const e of parser.push(decoder.decode(value, { stream: true }))) {
            this.lastEventId = e.id || this.lastEventId;
            try {
              this.o.onEvent(JSON.parse(e.data) as WorkerEvent);
            } catch {
              /* one bad event never stops the stream */
            }
          }
        }
      } catch {
        /* dropped or refused: back off and try again */
      }
      if (signal.aborted) return;
      this.setConnected(false);
      attempt++;
      await sleep(Math.min(this.o.maxDelayMs ?? 30_000, 500 * 2 ** Math.min(attempt - 1, 6)), signal);
    }
  }
}
