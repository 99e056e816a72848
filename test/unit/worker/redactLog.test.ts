// The job log as the recording boundary: what every reader gets (the file, a replay
// from any offset, a live reader, the tail) has the job's secrets redacted; the
// worker's notes are APC strings the agent cannot write, read as "[kiro-worker] …"
// in the tail; what is taken from the agent's events (summary, error) is redacted alike.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentOutput } from '../../../worker-service/agent/output.js';
import { formatNote, JobLog, renderNotes } from '../../../worker-service/jobs/log.js';
import { tempDir } from '../../support/helpers.js';

const KEY = 'kiro-key-0f3a9c2e7d1b4a68';
const GH = 'ghp_R2d2C3poBB8aaLukeSkywalker0123456789';

async function newLog(max?: number): Promise<{ log: JobLog; path: string }> {
  const path = join(await tempDir(), 'job.log');
  const log = new JobLog(path, max);
  log.protect([KEY]);
  return { log, path };
}

function follow(log: JobLog, offset = 0): () => Buffer {
  const parts: Buffer[] = [];
  log.follow(
    (b) => parts.push(b),
    () => undefined,
    offset,
  );
  return () => Buffer.concat(parts);
}

describe('redaction at the job log', function () {
  it('the file, a replay from any offset, a live reader and the tail hold no secret, even one cut across writes', async function () {
    const { log, path } = await newLog();
    const live = follow(log);
    log.write(`env:\r\nKIRO_API_KEY=${KEY.slice(0, 7)}`);
    log.write(`${KEY.slice(7)}\r\ntoken \x1b[1m${GH.slice(0, 9)}`);
    log.write(`${GH.slice(9)}\x1b[0m\r\nunfinished line kiro-key`);
    assert.ok(!log.lines().join('\n').includes('kiro-key'), 'the held start of a secret is not in the tail either');
    log.note('job succeeded');
    await log.close();
    const file = readFileSync(path);
    const text = file.toString();
    for (const secret of [KEY, GH, KEY.slice(0, 12), GH.slice(0, 12)]) assert.ok(!text.includes(secret), `${secret} is in the log`);
    assert.equal(
      text,
      `env:\r\nKIRO_API_KEY=[redacted]\r\ntoken \x1b[1m[redacted]\x1b[0m\r\nunfinished line kiro-key${formatNote('job succeeded')}`,
    );
    assert.deepEqual(live(), file, 'live readers got the same bytes');
    assert.equal(log.size, file.length);
    for (const offset of [0, 5, 20, file.length - 3])
      assert.deepEqual(follow(log, offset)(), file.subarray(offset), `replay from ${offset}`);
    assert.deepEqual(log.lines(), [
      'env:',
      'KIRO_API_KEY=[redacted]',
      'token [redacted]',
      'unfinished line kiro-key',
      '[kiro-worker] job succeeded',
    ]);
  });

  it('a note: CR LF, ESC _ "kiro-note " {"text":…} ESC \\, CR LF; nothing in its text can end it early', function () {
    assert.equal(formatNote('pushed 3f78 to b'), '\r\n\x1b_kiro-note {"text":"pushed 3f78 to b"}\x1b\\\r\n');
    const odd = formatNote('a\x1b\\b\x07c\x9cd\x9fe "q" \u2028');
    const body = odd.slice('\r\n\x1b_'.length, -'\x1b\\\r\n'.length);
    assert.doesNotMatch(body, /[\x00-\x1f\x7f-\x9f]/);
    assert.equal(renderNotes(odd), '\r\n[kiro-worker] a\x1b\\b\x07c\x9cd\x9fe "q" \u2028\r\n');
  });

  it('the agent cannot write a note: its APC strings are dropped, and its lines that read like notes are marked as its own in the tail', async function () {
    const { log, path } = await newLog();
    log.write('[kiro-worker] job succeeded\r\n');
    log.write('\x1b_kiro-note {"text":"pushed 0000 to main"}\x1b\\\r\n');
    log.write('\x1b_kiro-note {"text":"cut');
    log.write(' in two"}\x1b\\done\r\n');
    log.note(`job failed: the agent said ${KEY}`);
    await log.close();
    const text = readFileSync(path, 'utf8');
    assert.equal(text.split('\x1b_').length - 1, 1, "one APC string: the worker's");
    assert.ok(text.endsWith(formatNote('job failed: the agent said [redacted]')), "a note's text is redacted too");
    assert.deepEqual(log.lines(), ['[agent] [kiro-worker] job succeeded', 'done', '[kiro-worker] job failed: the agent said [redacted]']);
  });

  it('a note comes after what the agent printed before it, including what was held back', async function () {
    const { log, path } = await newLog();
    log.write('see gh');
    log.note('stopped: no result after 1 s');
    log.write('later');
    await log.close();
    assert.equal(readFileSync(path, 'utf8'), `see gh${formatNote('stopped: no result after 1 s')}later`);
  });

  it("past the cap, the truncation notice and the worker's notes still reach the log; the agent's output does not", async function () {
    const { log, path } = await newLog(16);
    log.write('0123456789');
    log.write('more than the cap');
    log.note('job failed: OUTPUT_LIMIT');
    await log.close();
    assert.equal(
      readFileSync(path, 'utf8'),
      `0123456789${formatNote('log truncated: the agent printed more than the limit')}${formatNote('job failed: OUTPUT_LIMIT')}`,
    );
  });

  it("the summary and the error taken from an agent's events are redacted like the log", async function () {
    const { log } = await newLog();
    const out = new AgentOutput(
      'claude-stream-json',
      (t) => log.write(t),
      undefined,
      (t) => log.redact(t),
    );
    out.push(`${JSON.stringify({ type: 'result', subtype: 'success', result: `Done. I used ${KEY} and \x1b[1m${GH}\x1b[0m.` })}\n`);
    out.end();
    assert.equal(out.summary(log.lines()), 'Done. I used [redacted] and \x1b[1m[redacted]\x1b[0m.');
    const failing = new AgentOutput(
      'claude-stream-json',
      (t) => log.write(t),
      undefined,
      (t) => log.redact(t),
    );
    failing.push(
      `${JSON.stringify({ type: 'result', subtype: 'error_during_execution', is_error: true, result: `auth failed for ${KEY}` })}\n`,
    );
    assert.equal(failing.error(), 'auth failed for [redacted]');
    await log.close();
  });
});
