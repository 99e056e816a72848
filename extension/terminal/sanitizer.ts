// What the agent's terminal may show of a job's log. The log is the agent's raw output
// (with the worker's notes in it, see shared/workerNote.ts); shown unfiltered, the agent
// could set the window title, write to the clipboard (OSC 52), plant links whose text is
// not their target (OSC 8), fake shell-integration marks (OSC 633/133/1337), make the
// terminal answer (CSI 6n, CSI 21t), clear the screen, switch modes, rewrite lines shown
// already, or print lines that pass for the worker's or the extension's own.
//
// A streaming state machine (the VT500 parser's states, as xterm.js follows them), its
// state kept across chunks, over the decoded text (LogFollower decodes UTF-8 once for the
// whole stream, so U+0080–U+009F are the 8-bit C1 controls). What it lets through:
//   - text, with \r, \n, \t and \b;
//   - colours: SGR, CSI [0-9:;]* m;
//   - movement within the current line: CSI n C (forward), CSI n D (back), CSI n G
//     (to a column) and CSI [0-2] K (erase in line): progress bars and spinners.
// Nothing else: every OSC, DCS, SOS, PM and APC string (an APC that is a worker's note
// becomes that note's line, see below); every other CSI (private modes CSI ? … h/l, other
// modes, cursor up/down/to a position A B E F H f d, save/restore s u, scroll regions r,
// scrolling S T, erase in display J, insert/delete L M P @ X, reports n c t, and any CSI
// with a private marker or intermediates, such as CSI > 4;2 m); every ESC sequence of
// its own (ESC c reset, ESC 7/8, ESC M reverse index, ESC ( 0 and other charset
// designations, ESC # 8, ESC = / >); C0 controls other than the four above (BEL, SO/SI,
// VT, FF, ENQ…) and DEL; C1 controls. An 8-bit introducer (U+009B CSI, U+009D OSC, U+0090
// DCS, U+0098 SOS, U+009E PM, U+009F APC) begins the same sequence as its 7-bit form: an
// 8-bit CSI that passes is written in its 7-bit form, the strings are dropped.
// Principle: no line already shown can be rewritten (the cursor never leaves its row but
// downwards), and the terminal keeps no state but colours.
//
// Kiro's own lines (extension/terminal/kiroLines.ts) start with a character the agent
// cannot show: it and its lookalikes become "?" in the agent's text. A worker's note (the
// APC string ESC _ kiro-note {"text": …} ESC \) becomes such a line on a row of its own.
//
// Bounded: a sequence held across chunks is at most MAX_SEQUENCE characters (a note,
// which is read whole, MAX_NOTE); past that it is dropped and what follows is read as
// text, so a string never terminated cannot swallow the rest of the log. The text of a
// dropped string is not kept, only counted.
import { parseNoteBody } from '../../shared/workerNote.js';
import { LOOKALIKE_RANGES, REPLACEMENT, noteLine } from './kiroLines.js';

/** Longest CSI, ESC sequence or OSC/DCS/SOS/PM string followed (characters); past it the sequence is dropped and reading resumes as text. */
export const MAX_SEQUENCE = 4096;
/** Longest APC string read (a note's JSON is kept whole until its end). */
export const MAX_NOTE = 64 * 1024;

const enum S {
  Ground,
  Esc,
  EscInter,
  Csi,
  Str,
  StrEsc,
  Apc,
  ApcEsc,
}

const ESC = 0x1b,
  BEL = 0x07,
  CAN = 0x18,
  SUB = 0x1a,
  DEL = 0x7f,
  ST8 = 0x9c;
/** The C0 controls shown: BS, HT, LF, CR. */
const isKeptControl = (c: number) => c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0d;

/** A run of text needing nothing: no control character (C0, DEL, C1) and no lookalike of Kiro's marker. */
const TEXT_RUN = new RegExp(`[^\\x00-\\x1f\\x7f-\\x9f${LOOKALIKE_RANGES}]+`, 'y');
/** A complete sequence that passes as it is (at an ESC, in one chunk): the quick path. */
const KEPT_CSI = /\x1b\[(?:[0-9:;]{0,256}m|[0-9]{0,256}[CDG]|[0-2]?K)/y;
const LOOKALIKE = new RegExp(`^[${LOOKALIKE_RANGES}]$`);
/** A trailing colour sequence (moves nothing). */
const SGR = /^\x1b\[[0-9:;]*m$/;

/** The CSI sequences shown: (parameters, final byte) with no private marker and no intermediates. */
function keptCsi(params: string, final: string): boolean {
  switch (final) {
    case 'm':
      return /^[0-9:;]*$/.test(params);
    case 'C':
    case 'D':
    case 'G':
      return /^[0-9]*$/.test(params);
    case 'K':
      return /^[0-2]?$/.test(params);
    default:
      return false;
  }
}

export class TerminalSanitizer {
  private state = S.Ground;
  /** Characters of the sequence being followed (its length only, for a dropped string). */
  private length = 0;
  /** A CSI's parameter bytes, or an APC's body. */
  private buf = '';
  private intermediates = false;
  private osc = false;
  /** After a note (which ends its own row): the log's CR LF that follows it is not written twice. */
  private skip = '';
  /** The last two characters written that move the cursor or print (colours left out): "\r\n" means a fresh row. */
  private lastTwo = '\r\n';

  constructor(private readonly limits: { maxSequence?: number; maxNote?: number } = {}) {}

  /** The chunk as the terminal may show it; what a sequence left open holds stays here until its end. */
  push(chunk: string): string {
    const out: string[] = [];
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.skip) {
        if (chunk[i] === this.skip[0]) {
          this.skip = this.skip.slice(1);
          i++;
          continue;
        }
        this.skip = '';
      }
      if (this.state === S.Ground) {
        TEXT_RUN.lastIndex = i;
        if (TEXT_RUN.test(chunk)) {
          out.push(chunk.slice(i, TEXT_RUN.lastIndex));
          i = TEXT_RUN.lastIndex;
          continue;
        }
        const c = chunk.charCodeAt(i);
        if (c === ESC) {
          KEPT_CSI.lastIndex = i;
          if (KEPT_CSI.test(chunk)) {
            out.push(chunk.slice(i, KEPT_CSI.lastIndex));
            i = KEPT_CSI.lastIndex;
            continue;
          }
        }
        i++;
        this.ground(c, chunk[i - 1] ?? '', out);
        continue;
      }
      // Inside a sequence: one character at a time; false means "read it again from the ground state".
      if (this.inSequence(chunk.charCodeAt(i), chunk[i] ?? '', out)) i++;
    }
    return this.written(out.join(''));
  }

  /**
   * One of Kiro's own lines (kiroLines.ts) on a row of its own, between two chunks of the
   * log: what a sequence left open holds stays held (the log resumes where it was).
   */
  line(rendered: string): string {
    return this.written(`${this.fresh ? '' : '\r\n'}${rendered}\r\n`);
  }

  /** The log ended: what a sequence left open held is dropped. */
  end(): void {
    this.state = S.Ground;
    this.buf = '';
    this.length = 0;
    this.skip = '';
  }

  private get fresh(): boolean {
    return isFresh(this.lastTwo);
  }

  /** Keeps track of where the output left the cursor: at the start of an empty row, or not. */
  private written(out: string): string {
    this.lastTwo = lastTwo(this.lastTwo, out);
    return out;
  }

  private begin(state: S): void {
    this.state = state;
    this.length = 0;
    this.buf = '';
    this.intermediates = false;
  }

  /** A character the quick paths did not take, in the ground state. */
  private ground(c: number, ch: string, out: string[]): void {
    if (isKeptControl(c)) out.push(ch);
    else if (c === ESC) this.begin(S.Esc);
    else if (c === 0x9b) this.begin(S.Csi);
    else if (c === 0x9d || c === 0x90 || c === 0x98 || c === 0x9e) {
      this.begin(S.Str);
      this.osc = c === 0x9d;
    } else if (c === 0x9f) {
      // An 8-bit APC is never a note (the worker writes ESC _): followed as a string and dropped.
      this.begin(S.Str);
      this.osc = false;
    } else if (LOOKALIKE.test(ch)) out.push(REPLACEMENT);
    // Any other C0 or C1 control, and DEL: dropped.
  }

  /** One character inside a sequence. Returns false when the sequence is over and the character is to be read again as text. */
  private inSequence(c: number, ch: string, out: string[]): boolean {
    const st = this.state;
    if (++this.length > (st === S.Apc ? (this.limits.maxNote ?? MAX_NOTE) : (this.limits.maxSequence ?? MAX_SEQUENCE))) {
      // Too long: dropped, and what follows is text.
      this.state = S.Ground;
      this.buf = '';
      return false;
    }
    if (st === S.Esc || st === S.EscInter || st === S.Csi) {
      if (c < 0x20 && c !== ESC && c !== CAN && c !== SUB) {
        // A C0 control inside a sequence is carried out where it stands (as a terminal does).
        if (isKeptControl(c)) out.push(ch);
        return true;
      }
      if (c === CAN || c === SUB) {
        this.state = S.Ground;
        return true;
      }
      if (c === ESC) {
        this.begin(S.Esc);
        return true;
      }
      if (c === DEL) return true;
      if (c >= 0x80) {
        // Not ASCII: the sequence is over, the character read afresh.
        this.state = S.Ground;
        return false;
      }
      if (st === S.Csi) {
        if (c >= 0x40) {
          this.state = S.Ground;
          if (!this.intermediates && keptCsi(this.buf, ch)) out.push(`\x1b[${this.buf}${ch}`);
        } else if (c <= 0x2f) this.intermediates = true;
        else if (this.intermediates)
          this.buf += '\x00'; // a parameter after an intermediate: malformed, never kept
        else this.buf += ch;
        return true;
      }
      if (c <= 0x2f)
        this.state = S.EscInter; // ESC + intermediates (charset designations, ESC # 8, …): dropped at their final byte
      else if (st === S.EscInter) this.state = S.Ground;
      else if (ch === '[') this.begin(S.Csi);
      else if (ch === ']' || ch === 'P' || ch === 'X' || ch === '^') {
        this.begin(S.Str);
        this.osc = ch === ']';
      } else if (ch === '_') this.begin(S.Apc);
      else this.state = S.Ground; // ESC c, ESC 7, ESC M, ESC =, …: dropped
      return true;
    }
    if (st === S.Str || st === S.Apc) {
      if (c === ESC) this.state = st === S.Str ? S.StrEsc : S.ApcEsc;
      else if (c === ST8 || (c === BEL && (this.osc || st === S.Apc)) || c === CAN || c === SUB)
        this.state = S.Ground; // the end (an APC ended so is not a note)
      else if (c >= 0x80 && c <= 0x9f) {
        // Another C1 control aborts the string and is read afresh.
        this.state = S.Ground;
        return false;
      } else if (c < 0x20 || c === DEL) {
        /* ignored inside a string */
      } else if (st === S.Apc) this.buf += ch;
      return true;
    }
    // StrEsc, ApcEsc: ESC \ ends the string; ESC then anything else aborts it and begins a sequence of its own.
    if (c === 0x5c) {
      if (st === S.ApcEsc) this.note(out);
      this.state = S.Ground;
      return true;
    }
    this.begin(S.Esc);
    this.length = 1;
    return this.inSequence(c, ch, out);
  }

  /** A complete APC string: a worker's note becomes its line, on a row of its own; anything else is dropped. */
  private note(out: string[]): void {
    const text = parseNoteBody(this.buf);
    this.buf = '';
    if (text === null) return;
    out.push(isFresh(lastTwo(this.lastTwo, out.join(''))) ? '' : '\r\n', noteLine(text), '\r\n');
    // The log writes CR LF after the note: that row is ended already.
    this.skip = '\r\n';
  }
}

const isFresh = (two: string) => two === '\r\n' || two === '\n\r';

/** The last two characters that print or move the cursor, after `out` is written (trailing colour sequences move nothing). */
function lastTwo(before: string, out: string): string {
  let end = out.length;
  while (end > 0 && out[end - 1] === 'm') {
    const esc = out.lastIndexOf('\x1b', end - 1);
    if (esc < 0 || !SGR.test(out.slice(esc, end))) break;
    end = esc;
  }
  return end === 0 ? before : (before + out.slice(Math.max(0, end - 2), end)).slice(-2);
}
