// A job's terminal output: appended to <stateDir>/logs/<id>.log, fanned out to
// live subscribers, and summarised as the last lines for the job's status. What the
// agent printed is recorded through a redactor (worker-service/redaction/): its keys,
// its template HOME's logins and well-known token shapes become "[redacted]", and APC
// strings are removed, once, before anything reads it (the file, a replay, live
// readers, the fleet's copy in Redis, the tail, and what derives from them).
// The worker's own notes go in the same byte sequence on a channel the agent cannot
// write to (an APC string, see formatNote).
import { EventEmitter } from 'node:events';
import { closeSync, createWriteStream, openSync, readSync, statSync, type WriteStream } from 'node:fs';
import { statePath } from './paths.js';
import { OutputRedactor, type OutputFilter } from '../redaction/redactor.js';

const TAIL_LINES = 40;
const TAIL_LINE_CHARS = 400;
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[P^_X][^\x1b]*\x1b\\|\x1b[@-Z\\-_]/g;

// The note format lives in the contract (shared/workerNote.ts): the extension reads what the worker writes.
import { formatNote } from '../../shared/workerNote.js';

export { formatNote, renderNotes } from '../../shared/workerNote.js';

/** The text without escape sequences (APC, DCS, SOS and PM strings removed whole). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** <stateDir>/logs/<id>.log, checked to stay in the state folder (an id from Redis is input). */
export function logPath(stateDir: string, jobId: string): string {
  return statePath(stateDir, 'logs', `${jobId}.log`);
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

  constructor(
    readonly path: string,
    private readonly maxBytes = 20 * 1024 * 1024,
    private readonly redactor: OutputFilter = new OutputRedactor(),
  ) {
    super();
    this.base = fileSize(path);
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', () => undefined); // a full disk must not crash the service; the tail still works
  }

  /** Bytes in the log so far. */
  get size(): number {
    return this.base + this.written;
  }

  /**
   * The job's secret values (the agent's key variables, its template HOME's logins): from
   * now on they never reach the log. Set before the agent starts.
   */
  protect(secrets: Iterable<string>): void {
    this.redactor.setSecrets(secrets);
  }

  /** Text derived from the agent's output elsewhere (its final message, its error) with the same secrets redacted. */
  redact(text: string): string {
    return this.redactor.redact(text);
  }

  /** The agent's output (or the readable lines made of its events). */
  write(chunk: string): void {
    this.lastOutputAt = Date.now();
    const text = this.redactor.push(chunk);
    if (text === chunk) {
      // As it came (most of the time): its bytes are counted once.
      const bytes = Buffer.from(chunk);
      this.totalBytes += bytes.length;
      this.record(text, bytes);
    } else {
      this.totalBytes += Buffer.byteLength(chunk);
      this.record(text);
    }
  }

  /** What the redactor let through, into the log and the tail (its text without escapes when the redactor knows it). */
  private record(text: string, encoded?: Buffer): void {
    if (text === '') return;
    const plain = this.redactor.visible ?? stripAnsi(text);
    if (!this.truncated) {
      const bytes = encoded ?? Buffer.from(text);
      if (this.written + bytes.length > this.maxBytes) {
        this.truncated = true;
        this.appendNote('log truncated: the agent printed more than the limit');
      } else this.append(bytes);
    }
    this.addToTail(plain, false);
  }

  /** What the redactor still holds of the agent's output (a possible start of a secret), decided now. */
  private release(): void {
    this.record(this.redactor.flush());
  }

  private appendNote(text: string): void {
    this.append(Buffer.from(formatNote(text)));
    this.addToTail(`\r\n[kiro-worker] ${text}\r\n`, true);
  }

  private append(bytes: Buffer): void {
    this.written += bytes.length;
    this.stream.write(bytes);
    this.chunks.push(bytes);
    this.emit('data', bytes);
  }

  /** Text without escapes, into the tail. Lines of the agent's that read like a note are marked as the agent's: only notes start with "[kiro-worker]". */
  private addToTail(plain: string, note: boolean): void {
    const lines = (this.partial + plain).replace(/\r\n?/g, '\n').split('\n');
    this.partial = lines.pop() ?? '';
    for (const [i, line] of lines.entries()) {
      if (line.trim().length === 0) continue;
      this.tail.push(note && i > 0 ? line.slice(0, TAIL_LINE_CHARS) : agentLine(line));
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
  }

  /** Lines so far, with an unterminated last line included. */
  lines(): string[] {
    const last = this.partial.trim() ? [agentLine(this.partial)] : [];
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

  /** The worker's own line: after what the agent printed so far, in the worker's channel (see formatNote); never truncated away. */
  note(text: string): void {
    this.lastOutputAt = Date.now();
    this.release();
    this.appendNote(this.redactor.redact(text));
  }

  async close(): Promise<void> {
    if (!this.ended) this.release();
    this.ended = true;
    this.emit('end');
    await new Promise<void>((r) => this.stream.end(r));
  }
}

/** A line the agent printed, as the tail shows it: one that reads like a worker's note is marked as the agent's. */
function agentLine(line: string): string {
  return (line.trimStart().startsWith('[kiro-worker]') ? `[agent] ${line.trimStart()}` : line).slice(0, TAIL_LINE_CHARS);
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
