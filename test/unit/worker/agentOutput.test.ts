// The agents' output made readable (worker-service/agent/output.ts and parsers/):
// on transcripts the real CLIs printed (test/fixtures/agents, recorded by
// test/support/recordTranscripts.ts with Codex 0.169.0, Claude Code 2.1.331 and
// Gemini CLI 0.61.0 against their scripted models), on those transcripts cut short,
// and on garbage. A parser never throws, never loses a line it does not understand,
// and reads the same whatever the chunks the terminal delivered.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentOutput, SUMMARY_CHARS } from '../../../worker-service/agent/output.js';
import type { OutputFormat } from '../../../worker-service/agent/presets.js';
import { stripAnsi } from '../../../worker-service/jobs/log.js';
import { finalMessage, FIXTURE_TASK, type RealAgent } from '../../support/agentScenarios.js';
import { repoRoot } from '../../support/paths.js';

const FORMAT: Record<RealAgent, OutputFormat> = {
  claude: 'claude-stream-json',
  codex: 'codex-jsonl',
  gemini: 'gemini-stream-json',
  opencode: 'plain',
};

function fixture(name: string): string {
  return readFileSync(join(repoRoot, 'test', 'fixtures', 'agents', `${name}.txt`), 'utf8');
}

interface Read {
  /** What went into the log, byte for byte. */
  written: string;
  /** The same as a person sees it: no escape sequences, no carriage returns. */
  lines: string[];
  summary: string | null;
  error: string | null;
  rawBytes: number;
}

function read(format: OutputFormat, raw: string, chunk = raw.length || 1, tail: string[] = []): Read {
  let written = '';
  const out = new AgentOutput(format, (t) => (written += t));
  for (let i = 0; i < raw.length; i += chunk) out.push(raw.slice(i, i + chunk));
  out.end();
  return {
    written,
    lines: stripAnsi(written).replace(/\r/g, '').split('\n'),
    summary: out.summary(tail),
    error: out.error(),
    rawBytes: out.rawBytes,
  };
}

/** The lines that say what the agent did and how it went (▸ an action, ✓ ✗ · an outcome, ✗ a problem). */
const actions = (r: Read) => r.lines.filter((l) => /^\s*[▸✓✗·]/.test(l)).map((l) => l.trim());

describe('agent output: readable progress and a summary', function () {
  describe('transcripts of the real CLIs', function () {
    const done = finalMessage(FIXTURE_TASK).split('\n');

    it('Claude Code: the commands and their exit codes, the file written, its message; the final message is the summary', function () {
      const r = read('claude-stream-json', fixture('claude-ok'));
      assert.deepEqual(actions(r), [
        '▸ $ cat TASK.md && echo "HOME=$HOME"',
        '✓ exit 0',
        '▸ $ ls no-such-file',
        '✗ exit 2',
        '▸ wrote notes.txt',
      ]);
      assert.ok(
        r.lines.includes("    ls: cannot access 'no-such-file': No such file or directory"),
        "a failed command's output shows under it",
      );
      assert.ok(r.lines.some((l) => /^Claude Code · model \S+ · permission mode acceptEdits$/.test(l)));
      for (const l of done) assert.ok(r.lines.includes(l), `the agent's message: ${l}`);
      assert.ok(r.lines.some((l) => /^Claude Code finished \(4 turns, [\d.]+ s\)$/.test(l)));
      assert.equal(r.summary, finalMessage(FIXTURE_TASK));
      assert.equal(r.error, null);
    });

    it('Codex: each command once with its exit code (the /bin/bash -c wrapper taken off), its warning dimmed, its message the summary', function () {
      const r = read('codex-jsonl', fixture('codex-ok'));
      assert.deepEqual(actions(r), [
        '▸ $ cat TASK.md && echo "HOME=$HOME" && ls "$HOME/.codex/config.toml"',
        '✓ exit 0',
        '▸ $ ls no-such-file',
        '✗ exit 2',
        "▸ $ printf '%s\\n' 'written by the agent' > 'notes.txt'",
        '✓ exit 0',
      ]);
      assert.ok(r.lines.some((l) => /^Codex · thread [0-9a-f-]{36}$/.test(l)));
      assert.ok(r.lines.some((l) => l.startsWith('codex: Model metadata for `scripted-codex-model` not found')));
      for (const l of done) assert.ok(r.lines.includes(l));
      assert.equal(r.summary, finalMessage(FIXTURE_TASK));
    });

    it('Gemini CLI: its banner lines pass through, then the commands, the file written and its message, whole although streamed in pieces', function () {
      const r = read('gemini-stream-json', fixture('gemini-ok'));
      assert.deepEqual(actions(r), [
        '▸ $ cat TASK.md && echo "HOME=$HOME" && ls "$HOME/.gemini/settings.json"',
        '· ran',
        '▸ $ ls no-such-file',
        '· ran',
        '▸ wrote notes.txt',
      ]);
      assert.equal(r.lines[0], 'YOLO mode is enabled. All tool calls will be automatically approved.');
      assert.ok(r.lines.some((l) => /^Gemini CLI finished \(3 tool calls, [\d.]+ s\)$/.test(l)));
      for (const l of done) assert.ok(r.lines.includes(l));
      assert.equal(r.summary, finalMessage(FIXTURE_TASK));
    });

    for (const agent of ['claude', 'codex', 'gemini'] as const) {
      it(`${agent}: no event is left as raw JSON, and the reading is the same whatever the chunks`, function () {
        const raw = fixture(`${agent}-ok`);
        const whole = read(FORMAT[agent], raw);
        assert.deepEqual(
          whole.lines.filter((l) => l.trim().startsWith('{"type"')),
          [],
        );
        for (const chunk of [1, 7, 64, 4096]) assert.equal(read(FORMAT[agent], raw, chunk).written, whole.written, `chunks of ${chunk}`);
        assert.equal(whole.rawBytes, Buffer.byteLength(raw));
      });
    }

    it('a model that refuses: what each CLI said went wrong is the error, and nothing stands in for a final message', function () {
      const claude = read('claude-stream-json', fixture('claude-fail'));
      assert.equal(claude.error, 'API Error: 400 scripted refusal: this model is not available');
      assert.ok(claude.lines.includes('✗ Claude Code stopped: API Error: 400 scripted refusal: this model is not available'));
      assert.equal(claude.summary, null, 'an API error is not what the agent did');
      const codex = read('codex-jsonl', fixture('codex-fail'));
      assert.match(codex.error ?? '', /^unexpected status 401 Unauthorized: wrong or missing API key/);
      assert.equal(codex.summary, null);
      const gemini = read('gemini-stream-json', fixture('gemini-fail'));
      assert.match(gemini.error ?? '', /API key not valid/);
      assert.ok(
        gemini.lines.some((l) => l.startsWith('Error when talking to Gemini API')),
        'its stack traces pass through as printed',
      );
    });
  });

  describe("events the transcripts do not show (as the CLIs' documentation describes them)", function () {
    const lines = (format: OutputFormat, events: unknown[]) => read(format, events.map((e) => `${JSON.stringify(e)}\r\n`).join(''));

    it('Codex: a file_change says which files, an mcp_tool_call and a todo list say what they did', function () {
      const r = lines('codex-jsonl', [
        {
          type: 'item.completed',
          item: {
            type: 'file_change',
            status: 'completed',
            changes: [
              { path: 'src/a.ts', kind: 'add' },
              { path: 'b.ts', kind: 'update' },
              { path: 'c.ts', kind: 'delete' },
            ],
          },
        },
        { type: 'item.completed', item: { type: 'mcp_tool_call', server: 'docs', tool: 'search', status: 'completed' } },
        { type: 'item.completed', item: { type: 'todo_list', items: [{ text: 'a' }, { text: 'b' }] } },
        { type: 'item.completed', item: { type: 'reasoning', text: 'hmm' } },
      ]);
      assert.deepEqual(actions(r), [
        '▸ added src/a.ts',
        '▸ edited b.ts',
        '▸ deleted c.ts',
        '▸ docs/search (completed)',
        '▸ updated its to-do list (2 items)',
      ]);
    });

    it('Gemini CLI: a warning is dimmed and not an error, an error is; a failed tool says why', function () {
      const r = lines('gemini-stream-json', [
        { type: 'tool_use', tool_name: 'replace', tool_id: 't1', parameters: { file_path: 'a.ts' } },
        { type: 'tool_result', tool_id: 't1', status: 'error', error: { type: 'edit', message: 'old_string not found' } },
        { type: 'error', severity: 'warning', message: 'loop detected, continuing' },
        { type: 'error', severity: 'error', message: 'quota exceeded' },
      ]);
      assert.deepEqual(actions(r), ['▸ edited a.ts', '✗ old_string not found', '✗ Gemini CLI: quota exceeded']);
      assert.ok(r.lines.includes('gemini: loop detected, continuing'));
      assert.equal(r.error, 'quota exceeded');
    });

    it('Claude Code: a failed edit says why; thinking and hook events add nothing; an error result is the error', function () {
      const r = lines('claude-stream-json', [
        { type: 'system', subtype: 'init', cwd: '/w', model: 'm', permissionMode: 'acceptEdits' },
        {
          type: 'assistant',
          message: {
            content: [
              { type: 'thinking', thinking: 'hmm' },
              { type: 'tool_use', id: 'u1', name: 'Edit', input: { file_path: '/w/src/a.ts' } },
            ],
          },
        },
        {
          type: 'user',
          message: { content: [{ type: 'tool_result', tool_use_id: 'u1', is_error: true, content: 'String to replace not found' }] },
        },
        { type: 'system', subtype: 'hook_response' },
        { type: 'result', subtype: 'error_max_turns', is_error: true, num_turns: 30 },
      ]);
      assert.deepEqual(actions(r), ['▸ edited src/a.ts', '✗ String to replace not found', '✗ Claude Code stopped: error_max_turns']);
      assert.equal(r.error, 'error_max_turns');
    });
  });

  describe('cut short', function () {
    /** The transcript up to the middle of its line holding `marker`. */
    const cut = (raw: string, marker: string) => {
      const at = raw.lastIndexOf(marker);
      const end = raw.indexOf('\n', at);
      return raw.slice(0, at + Math.floor((end - at) / 2));
    };

    it('the half line passes through as it was, and what came before still counts', function () {
      for (const [agent, marker] of [
        ['claude', '"type":"result"'],
        ['codex', '"type":"agent_message"'],
        ['gemini', '"type":"result"'],
      ] as const) {
        const raw = cut(fixture(`${agent}-ok`), marker);
        const r = read(FORMAT[agent], raw);
        const half = raw.slice(raw.lastIndexOf('\n') + 1);
        assert.ok(r.written.endsWith(half), `${agent}: the cut line is kept as printed`);
        assert.ok(actions(r).length >= 4, `${agent}: the earlier events were read`);
      }
      // Claude's last message came before its result: it is still the summary. Codex's was the line cut.
      assert.equal(read('claude-stream-json', cut(fixture('claude-ok'), '"type":"result"')).summary, finalMessage(FIXTURE_TASK));
      assert.equal(read('codex-jsonl', cut(fixture('codex-ok'), '"type":"agent_message"')).summary, null);
      // Gemini's message was held back for its end: the output's end shows it.
      assert.ok(
        read('gemini-stream-json', cut(fixture('gemini-ok'), '"type":"result"')).lines.includes(
          finalMessage(FIXTURE_TASK).split('\n')[0] ?? '',
        ),
      );
    });
  });

  describe('garbage', function () {
    const junk = [
      'plain words\r\n',
      '{not json\r\n',
      '[1,2,3]\r\n',
      'null\r\n',
      '{"type":42}\r\n',
      '{"type":"mystery","x":1}\r\n',
      '{"type":"assistant","message":5}\r\n',
      '{"type":"user","message":{"content":"x"}}\r\n',
      '{"type":"item.completed","item":"x"}\r\n',
      '{"type":"tool_use","parameters":null}\r\n',
      '{"type":"result","stats":7}\r\n',
      '\u0000\u0001\u00ff\ufffd\r\n',
    ].join('');

    for (const format of ['claude-stream-json', 'codex-jsonl', 'gemini-stream-json'] as const) {
      it(`${format}: never throws, and what it cannot read passes through unchanged`, function () {
        const r = read(format, junk, 5);
        for (const line of ['plain words', '{not json', '[1,2,3]', 'null', '{"type":42}', '{"type":"mystery","x":1}']) {
          assert.ok(r.written.includes(`${line}\r\n`), `${line} passes through`);
        }
        let random = 7;
        const bytes = Buffer.from(Array.from({ length: 20_000 }, () => (random = (random * 1103515245 + 12345) % 2 ** 31) % 256));
        assert.doesNotThrow(() => read(format, bytes.toString('latin1'), 333));
        assert.doesNotThrow(() => read(format, `{"type":"${'x'.repeat(5 * 1024 * 1024)}`, 65536));
      });
    }

    it('an event the parser knows, with fields of the wrong kinds, is read as far as it goes', function () {
      const r = read(
        'claude-stream-json',
        '{"type":"assistant","message":{"content":[{"type":"tool_use","name":7,"input":"x"},{"type":"text","text":["no"]}]}}\r\n',
      );
      assert.deepEqual(actions(r), ['▸ ? {}']);
    });
  });

  describe('as it comes', function () {
    it('text that is not an event shows at once; half an event waits for its end', function () {
      let written = '';
      const out = new AgentOutput('codex-jsonl', (t) => (written += t));
      out.push('Reading additional input');
      assert.equal(written, 'Reading additional input');
      out.push(' from stdin...\r\n{"type":"thread.st');
      assert.equal(written, 'Reading additional input from stdin...\r\n');
      out.push('arted","thread_id":"t-1"}\r\n');
      assert.match(stripAnsi(written), /Codex · thread t-1\r\n$/);
    });

    it("an agent's message cannot redraw the terminal: its escape sequences are dropped", function () {
      const r = read(
        'codex-jsonl',
        `${JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: 'done\u001b[2J\u001b]0;pwned\u0007 here' } })}\r\n`,
      );
      assert.equal(r.written, 'done here\r\n');
    });
  });

  describe('plain text (Kiro, opencode, a custom agent)', function () {
    it('is written as it came, escape sequences and all, and its last lines stand in for the summary', function () {
      const raw = '\u001b[32m> reading TASK.md\u001b[0m\r\nspinner\r\u001b[2K{"type":"looks like json"}\r\n';
      const r = read('plain', raw, 3, ['> reading TASK.md', 'Wrote notes.txt', 'Done.', '[kiro-worker] stopped: something']);
      assert.equal(r.written, raw);
      assert.equal(r.summary, '> reading TASK.md\nWrote notes.txt\nDone.');
      assert.equal(read('plain', '', 1, []).summary, null);
    });

    it("opencode's real transcript passes through byte for byte; its last lines end with its final message", function () {
      const raw = fixture('opencode-ok');
      const r = read('plain', raw, 50);
      assert.equal(r.written, raw);
      // The job log's last lines (what JobLog.lines() gives: escape sequences out, blank lines skipped).
      const tail = r.lines.filter((l) => l.trim() !== '');
      const summary = read('plain', raw, raw.length, tail).summary ?? '';
      assert.ok(summary.endsWith(finalMessage(FIXTURE_TASK)), summary);
      assert.equal(summary.split('\n').length, 8);
    });

    it('a summary is at most SUMMARY_CHARS long', function () {
      const long = 'x'.repeat(SUMMARY_CHARS * 2);
      const r = read('codex-jsonl', `${JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: long } })}\n`);
      assert.equal(r.summary?.length, SUMMARY_CHARS);
      assert.ok(r.summary?.endsWith('…'));
    });
  });
});
