// A job's terminal output: appended to <stateDir>/logs/<id>.log, fanned out to
// live subscribers, and summarised as the last lines for the job's status.
import { EventEmitter } from 'node:events';
import { closeSync, createWriteStream, openSync, readSync, statSync, type WriteStream } from 'node:fs';
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

/**
 * The log is one byte sequence, the same for everyone: the file on disk, the
 * replay a new reader gets, and what live readers receive. So a reader that lost
 * its connection resumes at the byte it had reached (GET /jobs/:id/log?offset=N),
 * across a service restart too: an attempt after a restart appends to the file.
 */
export class JobLog extends EventEmitter<{ data: [Buffer]; end: [] }> {
  private stream: WriteStream;
  /** Bytes in the file before this attempt (an earlier attempt, before a restart). */
  private readonly base: number;
  private written = 0;
  /** Bytes the agent printed, including what the cap kept out of the log. */
  totalBytes = 0;
  private truncated = false;
  private partial = '';
  /** This attempt's bytes so far (up to the cap), so a new reader replays exactly. */
  private readonly chunks: Buffer[] = [];
  readonly tail: string[] = [];
  lastOutputAt = Date.now();
  private ended = false;

  constructor(readonly path: string, private readonly maxBytes = 20 * 1024 * 1024) {
    super();
    this.base = fileSize(path);
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', () => undefined); // a full disk must not crash the service; the tail still works
  }

  /** Bytes in the log so far. */
  get size(): number {
    return this.base + this.written;
  }

  write(chunk: string): void {
    this.lastOutputAt = Date.now();
    const bytes = Buffer.from(chunk);
    this.totalBytes += bytes.length;
    if (!this.truncated) {
      if (this.written + bytes.length > this.maxBytes) {
        this.truncated = true;
        this.append(Buffer.from('\n[kiro-worker] log truncated: the agent printed more than the limit\n'));
      } else this.append(bytes);
    }
    this.addToTail(chunk);
  }

  private append(bytes: Buffer): void {
    this.written += bytes.length;
    this.stream.write(bytes);
    this.chunks.push(bytes);
    this.emit('data', bytes);
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

  /** Replays from byte `offset` what was written so far, then follows live output, with no gap or overlap. */
  follow(onData: (chunk: Buffer) => void, onEnd: () => void, offset = 0): () => void {
    let skip = offset;
    if (skip < this.base) {
      onData(readRange(this.path, skip, this.base));
      skip = 0;
    } else skip -= this.base;
    for (const c of this.chunks) {
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      onData(skip > 0 ? c.subarray(skip) : c);
      skip = 0;
    }
    if (this.ended) {
      // Closed already (its file is being flushed): the replay was everything.
      onEnd();
      return () => undefined;
    }
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
    this.ended = true;
    this.emit('end');
    await new Promise<void>((r) => this.stream.end(r));
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Bytes [start, end) of a file. */
function readRange(path: string, start: number, end: number): Buffer {
  const buf = Buffer.alloc(Math.max(0, end - start));
  if (buf.length === 0) return buf;
  const fd = openSync(path, 'r');
  try {
    let read = 0;
    while (read < buf.length) {
      const n = readSync(fd, buf, read, buf.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
