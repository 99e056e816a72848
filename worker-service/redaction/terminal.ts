// The agent's bytes as a terminal would parse them (the VT500 state machine that
// xterm.js follows), on their way into the job's log. Passed through: text and every
// complete escape sequence. Removed: every APC string (ESC _ … or its 8-bit form
// U+009F, up to ESC \, BEL or U+009C), which is the worker's own channel for its notes
// (see jobs/log.ts), and sequences the terminal would abort anyway (an ESC followed by
// another ESC, CAN or SUB), so that what is left can never join into an APC. The C0
// controls a terminal executes in the middle of a sequence are moved before it, and the
// 8-bit introducers become their 7-bit forms: every escape sequence that comes out is
// one of the contiguous shapes ESCAPES matches. OSC, DCS, SOS and PM strings come out
// whole, their text passed through `redactString` first. A sequence cut by a chunk
// boundary is held until its end arrives; one still open when the output ends is dropped.

/** Complete escape sequences as this filter writes them: CSI, OSC, DCS/SOS/PM, and ESC + intermediates + final. */
export const ESCAPES =
  /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\)|[PX^][^\x00-\x1f\x7f-\x9f]*\x1b\\|[ -/]+[0-~]|[0-OQ-WYZ\\`-~])/g;
/** CSI and ESC-final sequences with nothing in them a terminal would treat apart: passed through as they are. */
const PLAIN_ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[ -/]+[0-~]|[0-OQ-WYZ\\`-~])/g;
/** Text and plain escapes from a position on: what needs no rewriting (sticky; stops at the first thing that does). */
const PLAIN_RUN = /(?:[^\x1b\x80-\x9f]+|\x1b(?:\[[0-?]*[ -/]*[@-~]|[ -/]+[0-~]|[0-OQ-WYZ\\`-~]))*/y;
/** The start of a CSI or ESC sequence, unfinished: what a chunk's end may cut. */
const UNFINISHED = /^\x1b(?:\[[0-?]*[ -/]*|[ -/]*)$/;
/** The 8-bit controls that begin or end a sequence (DCS, SOS, CSI, ST, OSC, PM, APC); the other C1 controls pass as they are. */
const C1_INTRODUCERS = ['\x90', '\x98', '\x9b', '\x9c', '\x9d', '\x9e', '\x9f'];
/** Characters of a chunk's visible text (plain sequences taken out) that mean it needs reading in full, as a regular-expression class. */
export const NEEDS_FILTER = '[\\x1b\\x90\\x98\\x9b-\\x9f]';
/** One search per character: far cheaper than a pass of a character class over the chunk. */
function hasIntroducer(text: string): boolean {
  for (const c of C1_INTRODUCERS) if (text.includes(c)) return true;
  return false;
}

/** Longest CSI or ESC sequence kept (a longer one is malformed: dropped). */
const MAX_SEQUENCE = 256;
/** Longest OSC/DCS/SOS/PM text kept (a longer string is dropped whole). */
const MAX_STRING = 64 * 1024;

const enum S {
  Ground,
  Esc,
  Csi,
  Str,
  StrEsc,
  Apc,
  ApcEsc,
}
type StringKind = ']' | 'P' | 'X' | '^';

const ESC = 0x1b,
  BEL = 0x07,
  CAN = 0x18,
  SUB = 0x1a,
  DEL = 0x7f,
  ST8 = 0x9c;
const isExecuted = (c: number) => c < 0x20 && c !== ESC && c !== CAN && c !== SUB;

export class TerminalFilter {
  private state = S.Ground;
  /** The sequence being read (ESC, its intermediates, a CSI's parameters), or a string's text. */
  private seq = '';
  private kind: StringKind = ']';
  private intermediates = false;
  private overflow = false;

  /** The text of what push() last returned without its escape sequences, when it was known on the way (else null). */
  visible: string | null = null;

  constructor(private readonly redactString: (text: string) => string = (t) => t) {}

  /**
   * The chunk as it may be recorded, with what a sequence left open holds back until its end.
   * `unchecked`: the caller looks for what would need rewriting itself, in a pass over `visible` it
   * makes anyway (an ESC left after the plain sequences are taken out, an 8-bit introducer: see
   * NEEDS_FILTER), and calls again(chunk) at once if it finds any.
   */
  push(chunk: string, unchecked = false): string {
    if (this.state === S.Ground) {
      // A sequence cut by the end of the chunk (as often as not with colourful output): held, the rest read quickly.
      const last = chunk.lastIndexOf('\x1b');
      const cut = last >= 0 && chunk.length - last <= MAX_SEQUENCE && UNFINISHED.test(chunk.slice(last)) ? last : chunk.length;
      const head = cut < chunk.length ? chunk.slice(0, cut) : chunk;
      // Most output is text, colours and cursor moves: nothing to rewrite when that is all there is.
      if (unchecked || !hasIntroducer(head)) {
        const text = head.includes('\x1b') ? head.replace(PLAIN_ESCAPES, '') : head;
        if (unchecked || !text.includes('\x1b')) {
          if (cut < chunk.length) this.run(chunk.slice(cut)); // only opens the sequence: nothing to write yet
          this.visible = text;
          return head;
        }
      }
    }
    this.visible = null;
    return this.run(chunk);
  }

  /** The chunk an unchecked push() (made from the ground state) let through, read again in full: it held something to rewrite. */
  again(chunk: string): string {
    this.flush();
    this.visible = null;
    return this.run(chunk);
  }

  /** The output ended (or the worker writes a note of its own, which a terminal would see abort it): what is open is dropped. */
  flush(): void {
    this.state = S.Ground;
    this.seq = '';
    this.overflow = false;
    this.intermediates = false;
  }

  private run(chunk: string): string {
    let out = '';
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.state === S.Ground) {
        PLAIN_RUN.lastIndex = i;
        PLAIN_RUN.test(chunk);
        const j = PLAIN_RUN.lastIndex;
        if (j > i) out += chunk.slice(i, j);
        if (j >= n) break;
        i = j + 1;
        const c = chunk.charCodeAt(j);
        if (c === ESC) {
          this.begin(S.Esc, '\x1b');
          continue;
        }
        if (c === 0x9b) this.begin(S.Csi, '\x1b[');
        else if (c === 0x9d) this.beginString(']');
        else if (c === 0x90) this.beginString('P');
        else if (c === 0x98) this.beginString('X');
        else if (c === 0x9e) this.beginString('^');
        else if (c === 0x9f) this.begin(S.Apc, '');
        else if (c !== ST8) out += chunk[j]; // another C1 control is the terminal's business; a lone ST is nothing
        continue;
      }
      const c = chunk.charCodeAt(i);
      const ch = chunk[i] ?? '';
      i++;
      const st = this.state;
      if (st === S.Esc || st === S.Csi) {
        if (isExecuted(c))
          out += ch; // executed where it stands, before the sequence it interrupts
        else if (c === CAN || c === SUB) {
          out += ch;
          this.state = S.Ground;
        } else if (c === ESC) this.begin(S.Esc, '\x1b');
        else if (c === DEL) {
          /* ignored by the terminal */
        } else if (c >= 0x80) {
          // Not ASCII: the sequence is over and the character is read afresh.
          this.state = S.Ground;
          i--;
        } else if (st === S.Esc) out += this.escape(c, ch);
        else out += this.csi(c, ch);
        continue;
      }
      if (st === S.Str) {
        if (c === BEL && this.kind === ']') out += this.endString('\x07');
        else if (c === ESC) this.state = S.StrEsc;
        else if (c === ST8) out += this.endString('\x1b\\');
        else if (c === CAN || c === SUB) {
          out += ch;
          this.state = S.Ground;
        } else if (c === 0x0a || c === 0x0d || (c >= 0x80 && c <= 0x9f) || this.seq.length >= MAX_STRING) {
          // A line break, another C1 control, or a string grown past its bound: the string was never
          // a real one. It is dropped and the character read afresh as text, so that an opener left
          // unterminated cannot hide the rest of the agent's output from the log.
          this.state = S.Ground;
          i--;
        } else if (c < 0x20 || c === DEL) {
          /* ignored inside a string */
        } else this.seq += ch;
      } else if (st === S.StrEsc) {
        if (c === 0x5c) out += this.endString('\x1b\\');
        else {
          // ESC then anything but "\": the string is aborted, and the ESC begins a sequence of its own.
          this.begin(S.Esc, '\x1b');
          i--;
        }
      } else if (st === S.Apc) {
        if (c === BEL || c === ST8 || c === CAN || c === SUB) this.state = S.Ground;
        else if (c === ESC) this.state = S.ApcEsc;
      } else if (st === S.ApcEsc) {
        if (c === 0x5c) this.state = S.Ground;
        else {
          this.begin(S.Esc, '\x1b');
          i--;
        }
      }
    }
    return out;
  }

  /** One character after ESC (and its intermediates): what to write, if the sequence ends here. */
  private escape(c: number, ch: string): string {
    if (c <= 0x2f) {
      // An intermediate (0x20-0x2f).
      this.intermediates = true;
      if (this.seq.length < MAX_SEQUENCE) this.seq += ch;
      else this.overflow = true;
      return '';
    }
    if (!this.intermediates && (c === 0x5b || c === 0x5d || c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f)) {
      if (c === 0x5b) this.begin(S.Csi, '\x1b[');
      else if (c === 0x5f)
        this.begin(S.Apc, ''); // the worker's channel: never the agent's
      else this.beginString(ch as StringKind);
      return '';
    }
    this.state = S.Ground;
    return this.overflow ? '' : this.seq + ch;
  }

  /** One character of a CSI: parameters and intermediates are kept until the final byte. */
  private csi(c: number, ch: string): string {
    if (c >= 0x40) {
      this.state = S.Ground;
      return this.overflow ? '' : this.seq + ch;
    }
    // A parameter after an intermediate makes it malformed (the terminal ignores it up to its final byte), as does a runaway length.
    if (c >= 0x30 && this.intermediates) this.overflow = true;
    if (c <= 0x2f) this.intermediates = true;
    if (this.seq.length < MAX_SEQUENCE) this.seq += ch;
    else this.overflow = true;
    return '';
  }

  private begin(state: S, seq: string): void {
    this.state = state;
    this.seq = seq;
    this.intermediates = false;
    this.overflow = false;
  }

  private beginString(kind: StringKind): void {
    this.begin(S.Str, '');
    this.kind = kind;
  }

  private endString(terminator: string): string {
    const text = this.overflow ? '' : `\x1b${this.kind}${this.redactString(this.seq)}${terminator}`;
    this.state = S.Ground;
    this.seq = '';
    return text;
  }
}
