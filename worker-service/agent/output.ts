// Reads an agent's terminal output on its way into the job's log. A plain-text
// agent (Kiro) is written as it came. An agent that prints one JSON event per line
// (Claude Code's stream-json, Codex's JSONL, Gemini CLI's stream-json) has each
// event turned into lines a person can follow in the terminal: what it ran and how
// that ended, which files it wrote, what it said. Anything else (a warning, a
// banner, a line cut short, an event of a kind not known here) passes through
// unchanged, and a parser that throws only costs that line its translation: reading
// the output never fails a job. The tokens the events report spending are kept as
// `usage` (null for a plain-text agent, and until its events say any), and each
// change is announced through `onUsage`, as it happens, so a budget can stop the agent.
import { stripAnsi } from '../jobs/log.js';
import { claudeParser } from './parsers/claude.js';
import { codexParser } from './parsers/codex.js';
import { oneLine, type EventParser } from './parsers/format.js';
import { geminiParser } from './parsers/gemini.js';
import type { OutputFormat } from './presets.js';
import { costUsd, sameUsage, tokenCount, type JobUsage } from './usage.js';

export type { EventParser } from './parsers/format.js';

/** The longest summary kept (a PR comment and a notification quote it). */
export const SUMMARY_CHARS = 4000;
/** A line longer than this is not held back waiting for its end: it passes through as it comes. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;
/** How many of the last lines of a plain-text agent stand in for its summary. */
const PLAIN_SUMMARY_LINES = 8;

const TERMINAL = '\r\n';

export function makeParser(format: OutputFormat): EventParser | null {
  switch (format) {
    case 'plain':
      return null;
    case 'claude-stream-json':
      return claudeParser();
    case 'codex-jsonl':
      return codexParser();
    case 'gemini-stream-json':
      return geminiParser();
    default: {
      const never: never = format;
      return never;
    }
  }
}

export class AgentOutput {
  /** Bytes the agent printed (the output limit counts these, not the shorter translation). */
  rawBytes = 0;
  private readonly parser: EventParser | null;
  private partial = '';
  /** The line held in `partial` starts with `{`: an event being received, kept until its newline. */
  private holding = false;
  /** The current line began as something other than an event: the rest of it passes through as it comes. */
  private passing = false;
  private reported: JobUsage | null = null;

  /**
   * `redact`: what the job's log does to the agent's output (its secrets replaced), applied to what is
   * taken from the events here rather than from the log: the final message and the error.
   */
  constructor(
    format: OutputFormat,
    private readonly write: (text: string) => void,
    private readonly onUsage?: (usage: JobUsage) => void,
    private readonly redact: (text: string) => string = (text) => text,
  ) {
    this.parser = makeParser(format);
  }

  /** What the agent's events reported spending so far; null when they reported nothing (a plain-text agent never does). */
  get usage(): JobUsage | null {
    return this.reported;
  }

  push(chunk: string): void {
    this.rawBytes += Buffer.byteLength(chunk);
    if (!this.parser) return this.write(chunk);
    let rest = chunk;
    for (;;) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      const piece = rest.slice(0, nl + 1);
      rest = rest.slice(nl + 1);
      if (this.passing) {
        this.passing = false;
        this.write(piece);
      } else {
        const line = this.partial + piece;
        this.partial = '';
        this.holding = false;
        this.line(line);
      }
    }
    if (!rest) return;
    if (this.passing) return this.write(rest);
    this.partial += rest;
    // Decided once per line, at its first visible character (not re-scanned at every chunk of a long event):
    // only an event is worth waiting for; other text (a prompt, a progress line) shows at once.
    if (!this.holding) {
      const head = stripAnsi(this.partial).trimStart();
      if (head === '') return;
      if (head.startsWith('{')) this.holding = true;
    }
    if (!this.holding || this.partial.length > MAX_LINE_BYTES) {
      this.write(this.partial);
      this.partial = '';
      this.holding = false;
      this.passing = true;
    }
  }

  /** The agent has exited: a last line without its newline, and what the parser held back. */
  end(): void {
    const last = this.partial;
    this.partial = '';
    this.holding = false;
    const held = () => {
      const lines = this.safe(() => this.parser?.end?.() ?? []);
      if (lines?.length) this.write(lines.join(TERMINAL) + TERMINAL);
      this.checkUsage();
    };
    // A whole event without its newline is read like any other; a line cut short comes after what was held before it.
    if (last && parseEvent(last)) {
      this.line(last);
      held();
    } else {
      held();
      if (last) this.write(last);
    }
  }

  /**
   * The agent's final message: what it said last, for an agent whose events say so;
   * for a plain-text one (or one that said nothing), its last lines of output.
   */
  summary(tail: readonly string[]): string | null {
    const said = this.parser ? this.safe(() => this.parser?.summary() ?? null) : null;
    const text = this.redact(
      said?.trim()
        ? said.trim()
        : tail
            .filter((l) => !l.startsWith('[kiro-worker]'))
            .slice(-PLAIN_SUMMARY_LINES)
            .join('\n'),
    ).trim();
    if (!text) return null;
    return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS - 1)}…` : text;
  }

  /** What the agent reported going wrong, if its events said. */
  error(): string | null {
    const e = this.parser ? this.safe(() => this.parser?.error() ?? null) : null;
    return e ? oneLine(this.redact(e), 300) : null;
  }

  private line(raw: string): void {
    const event = parseEvent(raw);
    const lines = event ? this.safe(() => this.parser?.event(event) ?? null) : null;
    if (!lines) this.write(raw);
    else if (lines.length) this.write(lines.join(TERMINAL) + TERMINAL);
    // After the event's lines: a budget's "stopped" note follows the event that passed it.
    if (event) this.checkUsage();
  }

  /** The parser's figure after an event: kept, and announced when it changed (a figure that is not whole counts is dropped). */
  private checkUsage(): void {
    const u = this.safe(() => this.parser?.usage?.() ?? null);
    if (!u || sameUsage(u, this.reported)) return;
    const inputTokens = tokenCount(u.inputTokens);
    const outputTokens = tokenCount(u.outputTokens);
    if (inputTokens === null || outputTokens === null) return;
    const cost = costUsd(u.costUsd);
    const usage: JobUsage = { inputTokens, outputTokens, ...(cost !== null ? { costUsd: cost } : {}) };
    this.reported = usage;
    // The listener's own failure must not reach the terminal's data handler either.
    this.safe(() => this.onUsage?.({ ...usage }));
  }

  /** A parser's answer, or null when it threw: reading the output must never fail the job. */
  private safe<T>(f: () => T): T | null {
    try {
      return f();
    } catch {
      return null;
    }
  }
}

/** A line holding one JSON object (escape sequences and blanks around it ignored), or null. */
function parseEvent(raw: string): Record<string, unknown> | null {
  const text = stripAnsi(raw).trim();
  if (!text.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null; // not a whole event: passes through
  }
}
