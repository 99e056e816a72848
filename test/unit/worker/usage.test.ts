// The tokens an agent reports spending, read from its JSON events as it runs
// (worker-service/agent/output.ts, parsers/, usage.ts): on the transcripts the real
// CLIs printed (test/fixtures/agents), on the events their documentation describes,
// cut short and on garbage. A plain-text agent reports nothing (null, never a zero),
// and reading usage never throws.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobUsage } from '../../../shared/protocol.js';
import { AgentOutput } from '../../../worker-service/agent/output.js';
import type { OutputFormat } from '../../../worker-service/agent/presets.js';
import { formatCost, formatCount, formatUsage } from '../../../worker-service/agent/usage.js';
import { repoRoot } from '../../support/paths.js';

function fixture(name: string): string {
  return readFileSync(join(repoRoot, 'test', 'fixtures', 'agents', `${name}.txt`), 'utf8');
}

interface Reading {
  usage: JobUsage | null;
  /** Every figure announced through onUsage, in order. */
  reported: JobUsage[];
}

function read(format: OutputFormat, raw: string, chunk = raw.length || 1): Reading {
  const reported: JobUsage[] = [];
  const out = new AgentOutput(
    format,
    () => undefined,
    (u) => reported.push(u),
  );
  for (let i = 0; i < raw.length; i += chunk) out.push(raw.slice(i, i + chunk));
  out.end();
  return { usage: out.usage, reported };
}

const events = (list: unknown[]) => list.map((e) => `${JSON.stringify(e)}\r\n`).join('');

/** A whole usage figure: non-negative integers, a cost only as a non-negative number. */
function assertWhole(u: JobUsage | null, what: string): void {
  if (u === null) return;
  assert.ok(Number.isSafeInteger(u.inputTokens) && u.inputTokens >= 0, `${what}: input ${u.inputTokens}`);
  assert.ok(Number.isSafeInteger(u.outputTokens) && u.outputTokens >= 0, `${what}: output ${u.outputTokens}`);
  if (u.costUsd !== undefined) assert.ok(Number.isFinite(u.costUsd) && u.costUsd >= 0, `${what}: cost ${u.costUsd}`);
}

describe('agent usage: the tokens its events report', function () {
  describe('transcripts of the real CLIs', function () {
    it("Claude Code: the result's totals and cost, after a running figure from each message as it came", function () {
      const r = read('claude-stream-json', fixture('claude-ok'));
      assert.deepEqual(r.usage, { inputTokens: 400, outputTokens: 80, costUsd: 0.0032 });
      // Each of its 4 messages reported 100 input tokens (and 1 output, counted as it started); then the result.
      assert.deepEqual(r.reported, [
        { inputTokens: 100, outputTokens: 1 },
        { inputTokens: 200, outputTokens: 2 },
        { inputTokens: 300, outputTokens: 3 },
        { inputTokens: 400, outputTokens: 4 },
        { inputTokens: 400, outputTokens: 80, costUsd: 0.0032 },
      ]);
    });

    it("Codex: its turn's usage, without a cost; Gemini CLI: its result's stats", function () {
      assert.deepEqual(read('codex-jsonl', fixture('codex-ok')).usage, { inputTokens: 400, outputTokens: 80 });
      assert.deepEqual(read('gemini-stream-json', fixture('gemini-ok')).usage, { inputTokens: 500, outputTokens: 100 });
    });

    it('a model that refuses: the zeros the CLI reported are kept; a Codex turn that failed reported nothing', function () {
      assert.deepEqual(read('claude-stream-json', fixture('claude-fail')).usage, { inputTokens: 0, outputTokens: 0, costUsd: 0 });
      assert.deepEqual(read('gemini-stream-json', fixture('gemini-fail')).usage, { inputTokens: 0, outputTokens: 0 });
      const codex = read('codex-jsonl', fixture('codex-fail'));
      assert.equal(codex.usage, null);
      assert.deepEqual(codex.reported, []);
    });

    for (const [name, format] of [
      ['claude-ok', 'claude-stream-json'],
      ['codex-ok', 'codex-jsonl'],
      ['gemini-ok', 'gemini-stream-json'],
    ] as const) {
      it(`${name}: the same figures whatever the chunks`, function () {
        const whole = read(format, fixture(name));
        for (const chunk of [1, 7, 64, 4096]) assert.deepEqual(read(format, fixture(name), chunk), whole, `chunks of ${chunk}`);
      });
    }

    it('plain text (Kiro, opencode, a custom agent): no usage, never a zero, even when its text looks like events', function () {
      for (const raw of [fixture('opencode-ok'), fixture('opencode-fail'), fixture('claude-ok'), fixture('codex-ok')]) {
        const r = read('plain', raw, 50);
        assert.equal(r.usage, null);
        assert.deepEqual(r.reported, []);
      }
    });
  });

  describe("what the counts mean (events as the CLIs' documentation describes them)", function () {
    it('Claude Code: cached prompt tokens count as input; a message repeated on each content block counts once', function () {
      const message = (id: string, usage: unknown) => ({
        type: 'assistant',
        message: { id, content: [{ type: 'text', text: 'x' }], usage },
      });
      const r = read(
        'claude-stream-json',
        events([
          message('m1', { input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 50, output_tokens: 5 }),
          message('m1', { input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 50, output_tokens: 7 }),
          message('m2', { input_tokens: 20, output_tokens: 3 }),
        ]),
      );
      assert.deepEqual(r.usage, { inputTokens: 1080, outputTokens: 10 });
      const result = read(
        'claude-stream-json',
        events([
          {
            type: 'result',
            subtype: 'success',
            result: 'ok',
            usage: { input_tokens: 3, cache_read_input_tokens: 40, output_tokens: 2 },
            total_cost_usd: 0.5,
          },
        ]),
      );
      assert.deepEqual(result.usage, { inputTokens: 43, outputTokens: 2, costUsd: 0.5 });
    });

    it('Claude Code: an error result still reports what was spent', function () {
      const r = read(
        'claude-stream-json',
        events([
          {
            type: 'result',
            subtype: 'error_max_turns',
            is_error: true,
            usage: { input_tokens: 900, output_tokens: 90 },
            total_cost_usd: 0.02,
          },
        ]),
      );
      assert.deepEqual(r.usage, { inputTokens: 900, outputTokens: 90, costUsd: 0.02 });
    });

    it("Codex: turn.completed holds the thread's totals so far (the last one counts, not their sum); cached input is part of input_tokens", function () {
      const r = read(
        'codex-jsonl',
        events([
          { type: 'turn.completed', usage: { input_tokens: 100, cached_input_tokens: 80, output_tokens: 10 } },
          {
            type: 'turn.completed',
            usage: { input_tokens: 250, cached_input_tokens: 200, output_tokens: 30, reasoning_output_tokens: 12 },
          },
        ]),
      );
      assert.deepEqual(r.usage, { inputTokens: 250, outputTokens: 30 });
      assert.deepEqual(r.reported, [
        { inputTokens: 100, outputTokens: 10 },
        { inputTokens: 250, outputTokens: 30 },
      ]);
    });

    it("Gemini CLI: input_tokens already hold the cached part; without totals, the models' figures are summed (all or none)", function () {
      assert.deepEqual(
        read(
          'gemini-stream-json',
          events([{ type: 'result', status: 'success', stats: { input_tokens: 700, cached: 600, input: 100, output_tokens: 9 } }]),
        ).usage,
        { inputTokens: 700, outputTokens: 9 },
      );
      const models = (m: Record<string, unknown>) =>
        read('gemini-stream-json', events([{ type: 'result', status: 'success', stats: { models: m } }])).usage;
      assert.deepEqual(models({ a: { input_tokens: 5, output_tokens: 1 }, b: { input_tokens: 7, output_tokens: 2 } }), {
        inputTokens: 12,
        outputTokens: 3,
      });
      assert.equal(
        models({ a: { input_tokens: 5, output_tokens: 1 }, b: { input_tokens: 'many' } }),
        null,
        'a partial sum is not the whole',
      );
      assert.equal(models({}), null);
    });
  });

  describe('cut short', function () {
    /** The transcript up to the middle of its last line holding `marker`. */
    const cut = (raw: string, marker: string) => {
      const at = raw.lastIndexOf(marker);
      const end = raw.indexOf('\n', at);
      return raw.slice(0, at + Math.floor((end - at) / 2));
    };

    it('a usage event cut in half counts for nothing: Claude keeps its running figure, Codex and Gemini report none', function () {
      assert.deepEqual(read('claude-stream-json', cut(fixture('claude-ok'), '"type":"result"')).usage, {
        inputTokens: 400,
        outputTokens: 4,
      });
      assert.equal(read('codex-jsonl', cut(fixture('codex-ok'), '"type":"turn.completed"')).usage, null);
      assert.equal(read('gemini-stream-json', cut(fixture('gemini-ok'), '"type":"result"')).usage, null);
    });

    it("cut at any point: never throws, and any figure is whole and never more than the whole run's", function () {
      for (const [name, format] of [
        ['claude-ok', 'claude-stream-json'],
        ['codex-ok', 'codex-jsonl'],
        ['gemini-ok', 'gemini-stream-json'],
      ] as const) {
        const raw = fixture(name);
        const total = read(format, raw).usage;
        for (let at = 0; at <= raw.length; at += 97) {
          const u = read(format, raw.slice(0, at), 13).usage;
          assertWhole(u, `${name} cut at ${at}`);
          if (u && total) assert.ok(u.inputTokens <= total.inputTokens && u.outputTokens <= total.outputTokens, `${name} cut at ${at}`);
        }
      }
    });
  });

  describe('garbage', function () {
    const bad = [null, 'x', '400', -1, 1.5, Number.NaN, 2 ** 60, [], {}, true];

    it("a count that is not a whole non-negative number leaves that event's usage out", function () {
      for (const v of bad) {
        const json = (e: unknown) => JSON.stringify(e); // NaN and 2**60 survive as null and a float
        assert.equal(
          read('claude-stream-json', `${json({ type: 'result', subtype: 'success', usage: { input_tokens: v, output_tokens: 1 } })}\n`)
            .usage,
          null,
          json(v),
        );
        assert.equal(
          read(
            'claude-stream-json',
            `${json({ type: 'assistant', message: { id: 'm', content: [], usage: { input_tokens: 1, output_tokens: v } } })}\n`,
          ).usage,
          null,
          json(v),
        );
        assert.equal(
          read('codex-jsonl', `${json({ type: 'turn.completed', usage: { input_tokens: v, output_tokens: 1 } })}\n`).usage,
          null,
          json(v),
        );
        assert.equal(
          read('gemini-stream-json', `${json({ type: 'result', status: 'success', stats: { input_tokens: 1, output_tokens: v } })}\n`)
            .usage,
          null,
          json(v),
        );
      }
      // A bad cost is no cost; the counts stand.
      assert.deepEqual(
        read(
          'claude-stream-json',
          `${JSON.stringify({ type: 'result', usage: { input_tokens: 2, output_tokens: 1, cache_read_input_tokens: 'x' }, total_cost_usd: -3 })}\n`,
        ).usage,
        { inputTokens: 2, outputTokens: 1 },
      );
    });

    it('a later bad report does not erase a good one', function () {
      const r = read(
        'codex-jsonl',
        events([
          { type: 'turn.completed', usage: { input_tokens: 5, output_tokens: 1 } },
          { type: 'turn.completed', usage: 'lots' },
          { type: 'turn.completed' },
        ]),
      );
      assert.deepEqual(r.usage, { inputTokens: 5, outputTokens: 1 });
    });

    for (const format of ['claude-stream-json', 'codex-jsonl', 'gemini-stream-json'] as const) {
      it(`${format}: random bytes and fields of the wrong kinds never throw`, function () {
        let random = 11;
        const bytes = Buffer.from(Array.from({ length: 20_000 }, () => (random = (random * 1103515245 + 12345) % 2 ** 31) % 256)).toString(
          'latin1',
        );
        assert.doesNotThrow(() => assertWhole(read(format, bytes, 333).usage, 'random'));
        const junk = events([
          { type: 'result', usage: 7, stats: 'x' },
          { type: 'result', stats: { models: 3 } },
          { type: 'result', stats: { models: { a: null } } },
          { type: 'assistant', message: { usage: [1, 2] } },
          { type: 'turn.completed', usage: null },
          { type: 'assistant', message: { id: 5, usage: { input_tokens: 1, output_tokens: 1 } } },
        ]);
        assert.doesNotThrow(() => assertWhole(read(format, junk, 5).usage, 'junk'));
      });
    }

    it('a listener that throws costs only its own call: the output is still read', function () {
      let written = '';
      const out = new AgentOutput(
        'codex-jsonl',
        (t) => (written += t),
        () => {
          throw new Error('listener broke');
        },
      );
      assert.doesNotThrow(() => out.push(fixture('codex-ok')));
      out.end();
      assert.deepEqual(out.usage, { inputTokens: 400, outputTokens: 80 });
      assert.match(written, /Created notes\.txt/);
    });
  });

  describe('in words', function () {
    it('counts with thousands separators, a cost in dollars and cents (never a "$0.00" for a cost under a cent)', function () {
      assert.equal(formatUsage({ inputTokens: 12345, outputTokens: 2345, costUsd: 0.04 }), '12,345 input / 2,345 output tokens · $0.04');
      assert.equal(formatUsage({ inputTokens: 400, outputTokens: 80 }), '400 input / 80 output tokens');
      assert.equal(formatCount(1234567890), '1,234,567,890');
      assert.equal(formatCount(0), '0');
      assert.equal(formatCost(0.0032), '< $0.01');
      assert.equal(formatCost(0), '$0.00');
      assert.equal(formatCost(12.345), '$12.35');
    });
  });
});
