// What the output parsers share: the interface each implements, and the few ways
// they write a readable line (an action, its outcome, a problem, a dimmed note).
import { stripAnsi } from '../../jobs/log.js';
import type { JobUsage } from '../usage.js';

/** What one CLI's event stream means. */
export interface EventParser {
  /** Readable lines for one event ([] for bookkeeping), or null when it is not an event this parser knows. */
  event(e: Record<string, unknown>): string[] | null;
  /** The output ended: lines still held back (text streamed in pieces). */
  end?(): string[];
  /** The agent's final message, once it has said one. */
  summary(): string | null;
  /** What went wrong, in the agent's own words, if it said. */
  error(): string | null;
  /**
   * The tokens (and cost, where the CLI says) its events reported so far, summed over the
   * run; null until they report any. Absent for a stream that never reports usage.
   * Input counts every prompt token the model read, cached ones included (a budget counts
   * what went through the model; a reported cost already reflects the cache's discount).
   */
  usage?(): JobUsage | null;
}

const ESC = '\x1b[';
const style = (code: string, text: string) => `${ESC}${code}m${text}${ESC}0m`;

/** One line: newlines folded, control characters dropped, cut to `max` characters. */
export function oneLine(text: string, max = 200): string {
  const flat = stripAnsi(text)
    .replace(/\s*\n\s*/g, ' ⏎ ')
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The lines of an agent's message, as it wrote them (without escape sequences it could use to redraw the terminal). */
export function messageLines(text: string): string[] {
  return stripAnsi(text)
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .trim()
    .split('\n');
}

export const fmt = {
  /** What the agent does: a tool call, a command. */
  action: (text: string) => style('36', `▸ ${oneLine(text)}`),
  ok: (text: string) => style('32', `  ✓ ${oneLine(text)}`),
  failed: (text: string) => style('31', `  ✗ ${oneLine(text)}`),
  /** An outcome the agent does not say was good or bad. */
  ran: (text: string) => style('2', `  · ${oneLine(text)}`),
  /** A problem the agent reported. */
  problem: (text: string) => style('31', `✗ ${oneLine(text, 400)}`),
  note: (text: string) => style('2', oneLine(text, 300)),
  /** The first lines of a tool's output, dimmed. */
  output(text: string, maxLines = 3): string[] {
    const lines = stripAnsi(text)
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const shown = lines.slice(0, maxLines).map((l) => style('2', `    ${oneLine(l, 160)}`));
    if (lines.length > maxLines)
      shown.push(style('2', `    … ${lines.length - maxLines} more line${lines.length - maxLines === 1 ? '' : 's'}`));
    return shown;
  },
};

/** A path as the person reading knows it: relative to the working tree when inside it. */
export function relativePath(path: string, cwd: string | null): string {
  if (cwd && path.startsWith(`${cwd.replace(/\/+$/, '')}/`)) return path.slice(cwd.replace(/\/+$/, '').length + 1);
  return path;
}

export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const obj = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
