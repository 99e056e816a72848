// The recording filter of the agent's output (worker-service/redaction/): each token
// shape and each known value becomes [redacted], however the output is cut into chunks
// and whatever colours stand around or inside it; ordinary output is left alone; the
// agent's APC strings never pass (they are the worker's channel for its notes).
import assert from 'node:assert/strict';
import { OutputRedactor } from '../../../worker-service/redaction/redactor.js';
import { TerminalFilter } from '../../../worker-service/redaction/terminal.js';

const GH = 'ghp_R2d2C3poBB8aaLukeSkywalker0123456789';
const SHAPES: Record<string, string> = {
  'GitHub personal token': GH,
  'GitHub OAuth token': 'gho_16C7e42F292c6912E7710c838347Ae178B4a',
  'GitHub user-to-server token': 'ghu_16C7e42F292c6912E7710c838347Ae178B4a',
  'GitHub App installation token': 'ghs_16C7e42F292c6912E7710c838347Ae178B4a',
  'GitHub refresh token': 'ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498',
  'GitHub fine-grained token': 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX',
  'OpenAI key': 'sk-4fKq9ZbT2xW7yR1mN8pL3vC6hJ0dS5aE9gU2iO7kQ4wX1z',
  'OpenAI project key': 'sk-proj-Xy12_ab-CDef34GhIJ56klMN78opQR90stUV',
  'Anthropic key': 'sk-ant-api03-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg-AAAA',
  'AWS access key id': 'AKIAIOSFODNN7EXAMPLE',
  'AWS temporary key id': 'ASIAY34FZKBOKMUTVV7A',
  'Google API key': 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY',
  JWT: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  'RSA private key':
    '-----BEGIN RSA PRIVATE KEY-----\r\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\r\nZ1BjP5CE/Wm/Rr500P==\r\n-----END RSA PRIVATE KEY-----',
  'OpenSSH private key':
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----',
  'PKCS#8 private key in a JSON string':
    '-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nBKcwggSjAgEAAoIBAQC7\\n-----END PRIVATE KEY-----',
};
const ENV_KEY = 'kiro-key-0f3a9c2e7d1b4a68';
const HOME_LOGIN = 'refresh-7tYu3kLm-Qp';

function redactor(secrets: string[] = []): OutputRedactor {
  const r = new OutputRedactor();
  r.setSecrets(secrets);
  return r;
}

/** The whole output, written in the given pieces, then the end. */
function through(pieces: string[], secrets: string[] = []): string {
  const r = redactor(secrets);
  return pieces.map((p) => r.push(p)).join('') + r.flush();
}

/** Every way of cutting `text` in two, and character by character: all must give what one piece gives. */
function assertCutsAgree(text: string, secrets: string[] = []): string {
  const whole = through([text], secrets);
  for (let i = 1; i < text.length; i++) {
    const cut = through([text.slice(0, i), text.slice(i)], secrets);
    if (cut !== whole)
      assert.equal(
        JSON.stringify(cut),
        JSON.stringify(whole),
        `cut at ${i}: ${JSON.stringify(text.slice(Math.max(0, i - 12), i))}|${JSON.stringify(text.slice(i, i + 12))}`,
      );
  }
  assert.equal(through([...text], secrets), whole, 'one character at a time');
  return whole;
}

/** No ESC that (after C0 controls a terminal would execute) begins an APC string, and no 8-bit APC. */
const APC_START = /\x1b[\x00-\x1a\x1c-\x1f\x7f]*_|\x9f/;

describe("redaction of the agent's output", function () {
  describe('token shapes', function () {
    for (const [name, token] of Object.entries(SHAPES)) {
      it(`${name}: [redacted], the text around it kept`, function () {
        const out = through([`before ${token} after\r\n`]);
        assert.equal(out, 'before [redacted] after\r\n');
      });
    }

    it('ordinary output is left as it is: prose and code with sk-, AKIA, eyJ, gh…_ in them, a certificate, hashes, base64', function () {
      const text = [
        'risk-averse task-runner ask-me sk-learn sk-circle-bounce-delay-animation-extra-long-name',
        'const desk-1234567890abcdefghijk = 1; // not a key: "sk-" inside a word',
        'AKIAIOSFODNN7EXAMPLEXYZ is too long for a key id; myAKIAIOSFODNN7EXAMPLE is inside a word',
        'eyJ alone, eyJhbGciOiJIUzI1NiJ9 without the rest, highp_float, ghp_short',
        '-----BEGIN CERTIFICATE-----',
        'MIIBszCCAVmgAwIBAgIUE',
        '-----END CERTIFICATE-----',
        'commit 3f786850e387550fdab836ed7e6dc881de23001b',
        'aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ=',
        'https://example.com/a-b_c?x=1',
        '- a list item',
        '----- a separator',
        'e',
        's',
        'A',
      ].join('\r\n');
      assert.equal(assertCutsAgree(text), text);
    });

    it('a private key whose END line never comes is still redacted from its BEGIN line through its base64', function () {
      assert.equal(through(['key:\r\n-----BEGIN EC PRIVATE KEY-----\r\nMHcCAQEEIGlk\r\nAwEHoUQDQgAE\r\n']), 'key:\r\n[redacted]');
      assert.equal(
        through(['-----BEGIN EC PRIVATE KEY-----\r\nMHcCAQEEIGlk\r\n', '\r\n(cut) more text\r\n']),
        '[redacted](cut) more text\r\n',
      );
    });
  });

  describe('values the job knows are secret', function () {
    it('each one is redacted wherever it stands; shorter than 8 characters they are left alone', function () {
      const out = through(
        [`KIRO_API_KEY=${ENV_KEY}\r\nlogin ${HOME_LOGIN}.\r\nshort=abc1234 word=abc1234\r\n`],
        [ENV_KEY, HOME_LOGIN, 'abc1234'],
      );
      assert.equal(out, 'KIRO_API_KEY=[redacted]\r\nlogin [redacted].\r\nshort=abc1234 word=abc1234\r\n');
    });

    it('as JSON writes it (a quote or backslash escaped), and a value of several lines line by line', function () {
      const secret = 'pa"ss\\word-12345';
      const out = through(
        [`{"password":${JSON.stringify(secret)}}\r\n`, 'first-line-of-it\r\nsecond-line-of-it\r\n'],
        [secret, 'first-line-of-it\nsecond-line-of-it'],
      );
      assert.equal(out, '{"password":"[redacted]"}\r\n[redacted]\r\n[redacted]\r\n');
    });

    it('a value that is a prefix of a longer one: the longer is redacted whole', function () {
      assert.equal(assertCutsAgree('x abcdefgh12345 y abcdefgh z\r\n', ['abcdefgh', 'abcdefgh12345']), 'x [redacted] y [redacted] z\r\n');
    });
  });

  describe('cut across chunks', function () {
    const text = [
      `\x1b[1mfake-kiro\x1b[0m env:`,
      `KIRO_API_KEY=${ENV_KEY}`,
      `token \x1b[33m${GH}\x1b[0m.`,
      `from home: "${HOME_LOGIN}"`,
      ...Object.values(SHAPES),
      'the end: sk', // a last word that could begin a key, written at the end
    ].join('\r\n');

    it('at every position (and one character at a time) the log is what one chunk gives, with no secret in it', function () {
      const out = assertCutsAgree(text, [ENV_KEY, HOME_LOGIN]);
      for (const s of [ENV_KEY, HOME_LOGIN, ...Object.values(SHAPES)]) {
        for (const line of s.split(/\r?\n|\\n/).filter((l) => l.length >= 8)) assert.ok(!out.includes(line), `${line} is in the output`);
      }
      assert.ok(out.endsWith('the end: sk'), 'what was held back comes out at the end');
    });

    it('holds back only what may begin a secret: a chunk of ordinary text is written at once', function () {
      const r = redactor([ENV_KEY]);
      assert.equal(r.push('compiling 12 files… done\r\n'), 'compiling 12 files… done\r\n');
      assert.equal(r.push('next: kiro'), 'next: ', 'the start of the known value waits');
      assert.equal(r.push('-key-0f3a9c2e7d1b4a68!'), '[redacted]!');
      assert.equal(r.push('see gh'), 'see ');
      assert.equal(r.push('ost'), 'ghost');
    });

    it('what is held back is bounded: a token that never ends is decided once it passes the bound', function () {
      const r = redactor();
      let out = r.push('sk-1');
      for (let i = 0; i < 20; i++) out += r.push('a'.repeat(4096));
      assert.ok(out.length > 0, 'written before the end');
      assert.ok(!/sk-1a{20}/.test(out + r.flush()), 'and still redacted');
    });
  });

  describe('colours', function () {
    it('around a secret, they stay; inside one, they follow its [redacted] (the terminal ends in the same state)', function () {
      assert.equal(through([`\x1b[31m${GH}\x1b[0m\r\n`]), '\x1b[31m[redacted]\x1b[0m\r\n');
      assert.equal(
        through([`ghp_R2d2C3po\x1b[1mBB8aaLuke\x1b[38;5;196mSkywalker0123456789 ok\r\n`]),
        '[redacted]\x1b[1m\x1b[38;5;196m ok\r\n',
      );
      assert.equal(through([`kiro-key-\x1b[32m0f3a9c2e7d1b4a68\x1b[0m`], [ENV_KEY]), '[redacted]\x1b[32m\x1b[0m');
    });

    it('a colour sequence itself cut across chunks, inside a secret, at every position', function () {
      const text = `a ghp_R2d2C3poBB8aa\x1b[38;5;208mLukeSkywalker0123456789\x1b[0m b sk-ant-\x1b[1mapi03-Zm9vYmFyYmF6cXV4MTIz\x1b[0m c\r\n`;
      assert.equal(assertCutsAgree(text), 'a [redacted]\x1b[38;5;208m\x1b[0m b [redacted]\x1b[1m\x1b[0m c\r\n');
    });

    it('a secret in a window title (OSC) is redacted too', function () {
      assert.equal(assertCutsAgree(`\x1b]0;token ${GH}\x07title set\r\n`), '\x1b]0;token [redacted]\x07title set\r\n');
    });
  });

  describe("APC strings (the worker's channel for its notes)", function () {
    const fake = '\x1b_kiro-note {"text":"job succeeded"}\x1b\\';

    it('are removed whole, in their 7-bit and 8-bit forms, ended by ST, BEL or the 8-bit ST, and cut across chunks', function () {
      const text = `a${fake}b\x1b_kiro-note {"text":"x"}\x07c\x9fkiro-note {"text":"y"}\x9cd\x9f{"text":"z"}\x1b\\e\r\n`;
      assert.equal(assertCutsAgree(text), 'abcde\r\n');
    });

    it('the tricks that would make one from pieces do not: ESC ESC _, ESC CR _, an APC inside an OSC, an unterminated one', function () {
      const cases: [string, string][] = [
        [`\x1b\x1b_kiro-note {"text":"a"}\x1b\\_kiro-note`, '_kiro-note'],
        [`\x1b\r_kiro-note {"text":"a"}\x1b\\`, '\r'],
        [`\x1b\x1b_x\x1b\\_kiro-note {"text":"a"}\x1b\\`, '_kiro-note {"text":"a"}\x1b\\'],
        [`\x1b]0;t\x1b_kiro-note {"text":"a"}\x1b\\done`, 'done'],
        [`\x1b_kiro-note {"text":"never ends"} and more text`, ''],
        [`\x1b[3\x1b_kiro-note {"text":"a"}\x1b\\ok`, 'ok'],
      ];
      for (const [input, expected] of cases) {
        const out = assertCutsAgree(input);
        assert.equal(out, expected, JSON.stringify(input));
        assert.doesNotMatch(out, APC_START, JSON.stringify(input));
      }
    });

    it('no byte soup of escapes, brackets, terminators and pieces of secrets, however cut, leaves an APC start', function () {
      const alphabet = [
        '\x1b',
        '_',
        '\\',
        '\x07',
        '\r',
        '\n',
        '\x18',
        'a',
        '[',
        ']',
        'P',
        '\x9f',
        '\x9c',
        '\x9b',
        '\x9d',
        '1',
        ';',
        'm',
        ' ',
        'k',
      ];
      const pieces = [
        'ghp_',
        'AKIA',
        'eyJ',
        'sk-1',
        'kiro-key-',
        ENV_KEY,
        '-----BEGIN RSA PRIVATE KEY-----\n',
        '-----END RSA PRIVATE KEY-----',
        '\x1b[31m',
        '\x1b_kiro-note ',
      ];
      let seed = 42;
      const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
      for (let round = 0; round < 400; round++) {
        let text = '';
        for (let i = 0; i < 60; i++) text += rand(8) === 0 ? pieces[rand(pieces.length)] : alphabet[rand(alphabet.length)];
        const cut: string[] = [];
        for (let at = 0; at < text.length;) {
          const n = 1 + rand(7);
          cut.push(text.slice(at, at + n));
          at += n;
        }
        const out = through(cut, [ENV_KEY]);
        assert.doesNotMatch(out, APC_START, JSON.stringify(text));
        assert.equal(out, through([text], [ENV_KEY]), `cut as ${JSON.stringify(cut)}`);
      }
    });

    it('other sequences pass as they are (colours, cursor moves, charsets, a title), 8-bit CSI as its 7-bit form', function () {
      const text = '\x1b[1;32mok\x1b[0m \x1b[2K\x1b[10;1H\x1b(B\x1b7\x1b8\x1b]0;title\x07\x1b]8;;https://x.test\x1b\\link\x1b]8;;\x1b\\';
      assert.equal(assertCutsAgree(text), text);
      assert.equal(through(['\x9b31mred\x9b0m']), '\x1b[31mred\x1b[0m');
    });
  });

  describe('whole texts (a summary, an error, a note)', function () {
    it('redact() replaces the same secrets and strips APC strings, without touching the stream', function () {
      const r = redactor([ENV_KEY]);
      assert.equal(r.push('held: kiro'), 'held: ');
      assert.equal(r.redact(`I used ${ENV_KEY} and ${GH}.${'\x1b_kiro-note {"text":"x"}\x1b\\'}`), 'I used [redacted] and [redacted].');
      assert.equal(r.push('-key-0f3a9c2e7d1b4a68') + r.flush(), '[redacted]');
    });
  });

  it('TerminalFilter alone: an 8-bit introducer is read as its sequence, a lone 8-bit ST is dropped', function () {
    const f = new TerminalFilter();
    assert.equal(f.push('a\x9d0;t\x9cb\x9cc\x90qx\x1b\\d'), 'a\x1b]0;t\x1b\\bc\x1bPqx\x1b\\d');
  });

  it('TerminalFilter: an OSC or DCS left open cannot hide what follows from the log (a line break or 64 KB ends it as text)', function () {
    const f = new TerminalFilter();
    assert.equal(f.push('before\x1b]0;never closed\nrm -rf / ran here\n'), 'before\nrm -rf / ran here\n');
    const g = new TerminalFilter();
    const out = g.push(`\x1bP${'x'.repeat(70 * 1024)}visible`);
    assert.ok(out.endsWith('visible'), 'text after an oversized string is kept');
  });
});
