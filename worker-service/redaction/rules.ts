// What counts as a secret in the agent's output, found on its visible text (escape
// sequences already taken out, see redactor.ts): the values the job knows are secret
// (its key variables, the logins in its template HOME), matched exactly, and the
// shapes of well-known tokens whatever their value. Reading a stream, it also says
// where the text must stop for now: from the first place where a secret may have begun
// but not yet ended (a prefix of a known value or of a token's marker, a token still
// running into the end of the text, a private key without its END line yet).

export const REDACTED = '[redacted]';

/** Known values shorter than this are not redacted: they would blank out ordinary words. */
export const MIN_SECRET_CHARS = 8;
/** How far after its BEGIN line a private key's END line is looked for. */
const PEM_WINDOW = 16 * 1024;
/** At most this many known values are matched (a template HOME full of them: the longest are kept). */
const MAX_LITERALS = 2000;

interface Shape {
  /** The shape's marker (its fixed start). */
  marker: string;
  /** The whole token at the position (sticky). */
  full: RegExp;
  /** The text from the position to its end could still become this token (sticky, anchored at the end). */
  partial: RegExp;
  /** When no `full` match exists: what is there is still redacted (a private key whose END line never came). */
  open?: RegExp;
  /** Must not follow a letter or digit (a marker inside a longer word is not one). */
  boundary: boolean;
  accept?: (token: string) => boolean;
}

const B64URL = 'A-Za-z0-9_-';
const PEM_LABEL = '(?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----';

const SHAPES: Shape[] = [
  // GitHub: personal, OAuth, user-to-server, server-to-server (an App's installation token), refresh.
  ...['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map((marker) => ({
    marker,
    boundary: true,
    full: new RegExp(`${marker}[A-Za-z0-9]{20,255}`, 'y'),
    partial: new RegExp(`${marker}[A-Za-z0-9]{0,255}$`, 'y'),
  })),
  { marker: 'github_pat_', boundary: true, full: /github_pat_[A-Za-z0-9_]{20,255}/y, partial: /github_pat_[A-Za-z0-9_]{0,255}$/y },
  // OpenAI (sk-…, sk-proj-…, sk-svcacct-…) and Anthropic (sk-ant-…): a digit somewhere, so that prose and CSS class names are left alone.
  {
    marker: 'sk-',
    boundary: true,
    full: new RegExp(`sk-[${B64URL}]{20,255}`, 'y'),
    partial: new RegExp(`sk-[${B64URL}]{0,255}$`, 'y'),
    accept: (t) => /[0-9]/.test(t.slice(3)),
  },
  // AWS access key ids (long-lived and temporary).
  { marker: 'AKIA', boundary: true, full: /AKIA[A-Z0-9]{16}(?![A-Za-z0-9])/y, partial: /AKIA[A-Z0-9]{0,16}$/y },
  { marker: 'ASIA', boundary: true, full: /ASIA[A-Z0-9]{16}(?![A-Za-z0-9])/y, partial: /ASIA[A-Z0-9]{0,16}$/y },
  // Google API keys.
  { marker: 'AIza', boundary: true, full: new RegExp(`AIza[${B64URL}]{35}`, 'y'), partial: new RegExp(`AIza[${B64URL}]{0,35}$`, 'y') },
  // JWTs: header and payload are base64url JSON objects ({" is eyJ), then the signature.
  {
    marker: 'eyJ',
    boundary: true,
    full: new RegExp(`eyJ[${B64URL}]{4,}\\.eyJ[${B64URL}]{4,}\\.[${B64URL}]*`, 'y'),
    partial: new RegExp(`eyJ[${B64URL}]*(?:\\.(?:e(?:y(?:J[${B64URL}]*(?:\\.[${B64URL}]*)?)?)?)?)?$`, 'y'),
  },
  // PEM private keys (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP), BEGIN to END; line breaks may be real or JSON's \n.
  {
    marker: '-----BEGIN',
    boundary: false,
    full: new RegExp(`-----BEGIN ${PEM_LABEL}[\\s\\S]{0,${PEM_WINDOW}}?-----END ${PEM_LABEL}`, 'y'),
    partial: new RegExp(`-----BEGIN(?: ${PEM_LABEL}[\\s\\S]{0,${PEM_WINDOW}}| [A-Z0-9 ]{0,60}-{0,5}|)$`, 'y'),
    open: new RegExp(`-----BEGIN ${PEM_LABEL}(?:[A-Za-z0-9+/=\\r\\n]|\\\\[rn])*`, 'y'),
  },
];

const SHAPES_BY_FIRST = new Map<string, Shape[]>();
for (const s of SHAPES) SHAPES_BY_FIRST.set(s.marker[0] ?? '', [...(SHAPES_BY_FIRST.get(s.marker[0] ?? '') ?? []), s]);

/** Every proper prefix of a marker, by its last character: text ending with one may be a token's start. */
const MARKER_PREFIXES = new Map<string, { text: string; boundary: boolean }[]>();
for (const s of SHAPES) {
  for (let k = 1; k < s.marker.length; k++) {
    const text = s.marker.slice(0, k);
    const last = text.at(-1) ?? '';
    const list = MARKER_PREFIXES.get(last) ?? [];
    if (!list.some((p) => p.text === text)) list.push({ text, boundary: s.boundary });
    MARKER_PREFIXES.set(last, list);
  }
}

/** The markers, those that need a word boundary behind one (checked again, with the text before, at the start). */
const MARKERS_SOURCE = '(?<![A-Za-z0-9])(?:gh[pousr]_|github_pat_|sk-|A(?:KIA|SIA|Iza)|eyJ)|-----BEGIN';

const isWordChar = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** The forms in which a known value is looked for: each of its lines, and as it reads inside a JSON string. */
export function literalsOf(values: Iterable<string>): string[] {
  const found = new Set<string>();
  for (const value of values) {
    for (const line of value.split(/\r?\n/)) {
      const v = line.trim();
      if (v.length < MIN_SECRET_CHARS) continue;
      found.add(v);
      const json = JSON.stringify(v).slice(1, -1);
      if (json !== v) found.add(json);
    }
  }
  return [...found].sort((a, b) => b.length - a.length).slice(0, MAX_LITERALS);
}

export interface Found {
  /** Visible-text ranges [start, end) to redact, in order, none overlapping. */
  ranges: [number, number][];
  /** Where the text must stop for now (its length when all of it can go). */
  hold: number;
  /** The text holds one of the characters given as `controls`: nothing else was looked at. */
  control?: true;
}

export class SecretMatcher {
  private readonly scan: RegExp;
  private readonly literals: ReadonlySet<string>;

  /**
   * `controls`: a class of single characters (as a regular expression) the caller wants to hear of,
   * looked for in the same pass (cheaper than a pass of its own; see OutputRedactor.push).
   */
  constructor(literals: readonly string[] = [], controls?: string) {
    this.literals = new Set(literals);
    // Known values first (longest first), so that one starting like a token's marker is still matched whole.
    this.scan = new RegExp([...literals.map(escapeRegExp), MARKERS_SOURCE, ...(controls ? [controls] : [])].join('|'), 'g');
    this.controls = controls ? new RegExp(controls, 'g') : null;
  }

  private readonly controls: RegExp | null;

  /**
   * The secrets in `text`. `final`: nothing follows it (the output ended), so nothing is held.
   * `before`: the character code just before the text (-1 when none), for the word boundary.
   */
  find(text: string, final: boolean, before = -1): Found {
    const ranges: [number, number][] = [];
    let hold = text.length;
    const re = this.scan;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const at = m.index;
      if (m[0].length === 1) return { ranges: [], hold: 0, control: true }; // only a control is one character long
      let end = this.literals.has(m[0]) ? at + m[0].length : -1;
      let pending = false;
      const prev = at > 0 ? text.charCodeAt(at - 1) : before;
      for (const shape of SHAPES_BY_FIRST.get(text[at] ?? '') ?? []) {
        if (!text.startsWith(shape.marker, at) || (shape.boundary && isWordChar(prev))) continue;
        const e = matchAt(shape.full, text, at, shape.accept);
        if (e >= 0) {
          if (!final && e === text.length) pending = true;
          else end = Math.max(end, e);
        } else if (!final && matchAt(shape.partial, text, at) >= 0) pending = true;
        else if (shape.open) {
          const o = matchAt(shape.open, text, at);
          if (!final && o === text.length) pending = true;
          else end = Math.max(end, o);
        }
        break;
      }
      if (pending) {
        hold = at;
        // The scan stops here; a control further on must still be heard of.
        if (this.controls) {
          this.controls.lastIndex = at;
          if (this.controls.test(text)) return { ranges: [], hold: 0, control: true };
        }
        break;
      }
      if (end > at) {
        ranges.push([at, end]);
        re.lastIndex = end;
      } else re.lastIndex = at + 1;
    }
    if (final) return { ranges, hold };
    hold = Math.min(hold, this.startAtEnd(text, before));
    // A secret cut by the hold is found whole the next time.
    for (let last = ranges.at(-1); last && last[1] > hold; last = ranges.at(-1)) {
      ranges.pop();
      hold = Math.min(hold, last[0]);
    }
    return { ranges, hold };
  }

  /** The first position from which the end of `text` may be the beginning of a known value or of a token's marker. */
  private startAtEnd(text: string, before: number): number {
    const n = text.length;
    let start = n;
    for (const lit of this.literals) {
      const first = lit[0] ?? '';
      for (let j = text.indexOf(first, Math.max(0, n - lit.length + 1)); j >= 0 && j < start; j = text.indexOf(first, j + 1)) {
        if (lit.startsWith(text.slice(j))) {
          start = j;
          break;
        }
      }
    }
    for (const p of MARKER_PREFIXES.get(text[n - 1] ?? '') ?? []) {
      const j = n - p.text.length;
      if (j >= start || j < 0 || !text.endsWith(p.text)) continue;
      if (p.boundary && isWordChar(j > 0 ? text.charCodeAt(j - 1) : before)) continue;
      start = j;
    }
    return start;
  }
}

function matchAt(re: RegExp, text: string, at: number, accept?: (token: string) => boolean): number {
  re.lastIndex = at;
  const m = re.exec(text);
  if (!m || (accept && !accept(m[0]))) return -1;
  return at + m[0].length;
}

/** `text` (holding no escape sequences) with every secret in it replaced, as one whole: nothing follows it. */
export function redactPlain(matcher: SecretMatcher, text: string): string {
  const { ranges } = matcher.find(text, true);
  if (ranges.length === 0) return text;
  let out = '';
  let pos = 0;
  for (const [s, e] of ranges) {
    out += text.slice(pos, s) + REDACTED;
    pos = e;
  }
  return out + text.slice(pos);
}
