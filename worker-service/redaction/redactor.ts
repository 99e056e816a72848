// The agent's output on its way into the job's log, made safe to record: APC strings
// removed (terminal.ts) and secrets replaced by "[redacted]" (rules.ts). Matching is
// done on the visible text, so a colour change inside or around a secret does not hide
// it; the escape sequences that stood inside a redacted secret are written after the
// "[redacted]", so the terminal's state (colours, cursor) is what the agent left it.
// A secret cut across chunks is still caught: the end of a chunk that may be the start
// of a secret is held back (bounded) until the next chunk says, or the output ends.
// Deterministic: what comes out depends on the bytes, not on how they were cut.
import { REDACTED, SecretMatcher, literalsOf, redactPlain, type Found } from './rules.js';
import { ESCAPES, NEEDS_FILTER, TerminalFilter } from './terminal.js';

/** Visible characters held back at most; past this the held text is decided as it stands. */
const HOLD_MAX = 24 * 1024;

/** What a JobLog needs of a redactor (the benchmark's baseline passes one that does nothing). */
export interface OutputFilter {
  /** The known secret values of this job (replacing any given before). */
  setSecrets(values: Iterable<string>): void;
  /** A chunk of the agent's output: what may be recorded of it now. */
  push(chunk: string): string;
  /** The output ended, or the worker writes between: everything held, decided now. */
  flush(): string;
  /** A whole text (a summary, an error, a note) with its secrets replaced. */
  redact(text: string): string;
  /** The text of what push() or flush() last returned, without its escape sequences, when known (else null). */
  readonly visible: string | null;
}

export class OutputRedactor implements OutputFilter {
  private matcher = new SecretMatcher();
  /** The same, also telling when a chunk's visible text holds what the terminal filter must read in full. */
  private scanner = new SecretMatcher([], NEEDS_FILTER);
  private readonly terminal = new TerminalFilter((text) => redactPlain(this.matcher, text));
  /** Filtered output not yet written, and its visible text. */
  private carry = '';
  private carryVisible = '';
  /** The last visible character written (-1 before any): the word boundary before the carry. */
  private before = -1;
  visible: string | null = null;

  setSecrets(values: Iterable<string>): void {
    const literals = literalsOf(values);
    this.matcher = new SecretMatcher(literals);
    this.scanner = new SecretMatcher(literals, NEEDS_FILTER);
  }

  push(chunk: string): string {
    // The terminal filter's quick path leaves it to the matcher's pass to see whether the chunk needs reading in full.
    let clean = this.terminal.push(chunk, true);
    let visible = this.carryVisible + (this.terminal.visible ?? clean.replace(ESCAPES, ''));
    let found = this.scanner.find(visible, false, this.before);
    if (found.control) {
      clean = this.terminal.again(chunk);
      visible = this.carryVisible + clean.replace(ESCAPES, '');
      found = this.matcher.find(visible, false, this.before);
    }
    return this.cut(this.carry + clean, visible, found);
  }

  flush(): string {
    this.terminal.flush();
    const rest = this.cut(this.carry, this.carryVisible, this.matcher.find(this.carryVisible, true, this.before));
    this.before = -1; // what follows (a note, or nothing) starts afresh
    return rest;
  }

  redact(text: string): string {
    const terminal = new TerminalFilter((t) => redactPlain(this.matcher, t));
    const clean = terminal.push(text);
    const visible = terminal.visible ?? clean.replace(ESCAPES, '');
    return apply(clean, visible, this.matcher.find(visible, true).ranges, visible.length);
  }

  /** Writes what `found` allows of `raw` (whose visible text is `visible`) and keeps the rest. */
  private cut(raw: string, visible: string, found: Found): string {
    if (found.hold < visible.length && (visible.length - found.hold > HOLD_MAX || raw.length > 4 * HOLD_MAX)) {
      found = this.matcher.find(visible, true, this.before);
    }
    const { ranges, hold } = found;
    if (hold > 0) this.before = visible.charCodeAt(hold - 1);
    if (ranges.length === 0 && hold === visible.length) {
      this.carry = '';
      this.carryVisible = '';
      this.visible = visible;
      return raw;
    }
    const held = visible.length - hold;
    // Usually only a few characters are held, after the last escape sequence: no map needed to find where they start.
    const map = raw.length === visible.length || (ranges.length === 0 && held <= plainTail(raw)) ? undefined : new EscapeMap(raw);
    const cutAt = hold === visible.length ? raw.length : map ? map.rawIndex(hold) : raw.length - held;
    this.carry = raw.slice(cutAt);
    this.carryVisible = visible.slice(hold);
    const shown = visible.slice(0, hold);
    this.visible = apply(shown, shown, ranges, hold);
    return apply(raw.slice(0, cutAt), shown, ranges, hold, map);
  }
}

/** `raw` (whose visible text is `visible`) with the visible ranges replaced; the escapes inside a range follow its "[redacted]". */
function apply(raw: string, visible: string, ranges: readonly [number, number][], upTo: number, known?: EscapeMap): string {
  if (ranges.length === 0) return raw;
  if (raw.length === visible.length) {
    // No escape sequences: positions are the same.
    let out = '';
    let pos = 0;
    for (const [s, e] of ranges) {
      out += raw.slice(pos, s) + REDACTED;
      pos = e;
    }
    return out + raw.slice(pos);
  }
  const map = known ?? new EscapeMap(raw);
  let out = '';
  let pos = 0;
  for (const [s, e] of ranges) {
    if (s >= upTo) break;
    const start = map.rawIndex(s);
    const end = map.rawIndex(e - 1) + 1;
    out += raw.slice(pos, start) + REDACTED + map.inside(s, e - 1);
    pos = end;
  }
  return out + raw.slice(pos);
}

/** How many characters end the filtered text after its last escape sequence. */
function plainTail(raw: string): number {
  const last = raw.lastIndexOf('\x1b');
  if (last < 0) return raw.length;
  const re = new RegExp(ESCAPES.source, 'y');
  re.lastIndex = last;
  return re.test(raw) ? raw.length - re.lastIndex : -1;
}

/** Where the escape sequences of a filtered text sit relative to its visible characters. */
class EscapeMap {
  /** For each escape sequence: how many visible characters come before it, where it starts and ends in the text. */
  private readonly at: number[] = [];
  private readonly start: number[] = [];
  private readonly end: number[] = [];
  /** Total length of the escape sequences before the i-th. */
  private readonly before: number[] = [0];

  constructor(private readonly raw: string) {
    const re = new RegExp(ESCAPES.source, 'g');
    let hidden = 0;
    for (let m = re.exec(raw); m; m = re.exec(raw)) {
      this.at.push(m.index - hidden);
      this.start.push(m.index);
      this.end.push(m.index + m[0].length);
      hidden += m[0].length;
      this.before.push(hidden);
    }
  }

  /** How many escape sequences sit before visible character v (those right before it included). */
  private count(v: number): number {
    let lo = 0;
    let hi = this.at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.at[mid] ?? 0) <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Where visible character v stands in the text. */
  rawIndex(v: number): number {
    return v + (this.before[this.count(v)] ?? 0);
  }

  /** The escape sequences between visible characters first and last (inclusive of those just before last). */
  inside(first: number, last: number): string {
    let s = '';
    for (let k = this.count(first); k < this.count(last); k++) s += this.raw.slice(this.start[k], this.end[k]);
    return s;
  }
}
