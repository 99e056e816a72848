// A job's terminal output: appended to <stateDir>/logs/<id>.log, fanned out to
// live subscribers, and summarised as the last lines for the job's status.
import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

const TAIL_LINES = 40;
const TAIL_LINE_CHARS = 400;
// eslint-disable-next-line no-control-regex -- terminal escape sequences are control characters
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export function logPath(stateDir: string, jobId: string): string {
  return join(stateDir, 'logs', `${jobId}.log`);
}

export class JobLog extends EventEmitter<{ data: [string]; end: [] }> {
  private stream: WriteStream;
  private written = 0;
  /** Bytes the agent printed, including what the cap kept out of the file. */
  totalBytes = 0;
  private truncated = false;
  private partial = '';
  /** Everything written so far (up to the cap), so a new subscriber replays exactly. */
  private readonly chunks: string[] = [];
  readonly tail: string[] = [];
  lastOutputAt = Date.now();

  constructor(readonly path: string, private readonly maxBytes = 20 * 1024 * 1024) {
    super();
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', () => undefined); // a full disk must not crash the service; the tail still works
  }

  write(chunk: string): void {
    this.lastOutputAt = Date.now();
    const bytes = Buffer.byteLength(chunk);
    this.totalBytes += bytes;
    if (!this.truncated) {
      if (this.written + bytes > this.maxBytes) {
        this.truncated = true;
        this.stream.write('\n[kiro-worker] log truncated: the agent printed more than the limit\n');
      } else {
        this.written += bytes;
        this.stream.write(chunk);
        this.chunks.push(chunk);
      }
    }
    // Live subscribers get everything; only the replay buffer and the file are capped.
    this.emit('data', chunk);
    this.addToTail(chunk);
  }

  private addToTail(chunk: string): void {
    const lines = stripAnsi(this.partial + chunk).replace(/\r\n?/g, '\n').split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim().length === 0) continue;
      this.tail.push(line.slice(0, TAIL_LINE_CHARS));
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
  }

  /** Lines so far, with an unterminated last line included. */
  lines(): string[] {
    const last = this.partial.trim() ? [this.partial.slice(0, TAIL_LINE_CHARS)] : [];
    return [...this.tail, ...last].slice(-TAIL_LINES);
  }

  /** Replays what was written so far and then follows live output, with no gap or overlap. */
  follow(onData: (chunk: string) => void, onEnd: () => void): () => void {
    for (const c of this.chunks) onData(c);
    this.on('data', onData);
    this.once('end', onEnd);
    return () => {
      this.off('data', onData);
      this.off('end', onEnd);
    };
  }

  note(text: string): void {
    this.write(`\r\n[kiro-worker] ${text}\r\n`);
  }

  async close(): Promise<void> {
    this.emit('end');
    await new Promise<void>((r) => this.stream.end(r));
  }
}
