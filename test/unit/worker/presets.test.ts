// The agent presets (KIRO_AGENT): each one's argv, the variables it passes and sets,
// what its exit codes mean, the key refused at start, and /health's report of the
// agent (preset, found, version).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentHealth, probeVersion } from '../../../worker-service/agent/health.js';
import { AGENT_PROMPT, agentEnv, expandCommand } from '../../../worker-service/agent/command.js';
import { AGENT_PRESETS, exitError, missingKey, PRESETS } from '../../../worker-service/agent/presets.js';
import { buildApp } from '../../../worker-service/app.js';
import { ConfigError, DEFAULT_AGENT_COMMAND, loadConfig } from '../../../worker-service/config.js';
import { repoRoot } from '../../support/paths.js';
import { tempDir } from '../../support/helpers.js';

const argvOf = (env: Record<string, string>) => expandCommand(loadConfig(env).agentCommand, { prompt: 'P', taskFile: '/w/TASK.md' });
const fails = (env: Record<string, string>, variable: string, detail?: RegExp) =>
  assert.throws(
    () => loadConfig(env),
    (e: unknown) => ConfigError.is(e) && e.variable === variable && (!detail || detail.test(e.message)),
  );

describe('agent presets (KIRO_AGENT)', function () {
  describe('argv: the headless form that edits files without asking', function () {
    it('kiro (the default): kiro-cli chat --no-interactive --trust-all-tools <prompt>', function () {
      assert.deepEqual(argvOf({}), ['kiro-cli', 'chat', '--no-interactive', '--trust-all-tools', 'P']);
      assert.deepEqual(argvOf({ KIRO_AGENT: 'kiro' }), argvOf({}));
      assert.deepEqual(DEFAULT_AGENT_COMMAND, PRESETS.kiro.command);
      assert.equal(loadConfig({}).agentPreset, 'kiro');
    });

    it('claude: -p <prompt>, an edit permission mode and an allow-list of tools (not --dangerously-skip-permissions, refused as root), stream-json', function () {
      const argv = argvOf({ KIRO_AGENT: 'claude' });
      assert.deepEqual(argv.slice(0, 3), ['claude', '-p', 'P']);
      assert.equal(argv[argv.indexOf('--permission-mode') + 1], 'acceptEdits');
      assert.deepEqual(argv[argv.indexOf('--allowedTools') + 1]?.split(',').slice(0, 4), ['Bash', 'Read', 'Write', 'Edit']);
      assert.equal(argv[argv.indexOf('--output-format') + 1], 'stream-json');
      assert.ok(argv.includes('--verbose'), 'stream-json in -p mode needs --verbose');
      assert.ok(!argv.includes('--dangerously-skip-permissions'));
      assert.equal(PRESETS.claude.output, 'claude-stream-json');
    });

    it('codex: exec --json, no approvals (the worker sandboxes it), update checks, analytics, feedback, otel and plugins off by flags', function () {
      const argv = argvOf({ KIRO_AGENT: 'codex' });
      assert.deepEqual(argv.slice(0, 3), ['codex', 'exec', '--json']);
      assert.ok(argv.includes('--dangerously-bypass-approvals-and-sandbox'));
      const overrides = argv.flatMap((a, i) => (argv[i - 1] === '-c' ? [a] : []));
      assert.deepEqual(overrides, [
        'check_for_update_on_startup=false',
        'analytics.enabled=false',
        'feedback.enabled=false',
        'otel.exporter="none"',
      ]);
      assert.equal(argv[argv.indexOf('--disable') + 1], 'plugins');
      assert.equal(argv[argv.length - 1], 'P', 'the prompt is the last argument');
      assert.equal(PRESETS.codex.output, 'codex-jsonl');
    });

    it('gemini: -p <prompt>, yolo approvals in a trusted folder, stream-json', function () {
      const argv = argvOf({ KIRO_AGENT: 'gemini' });
      assert.deepEqual(argv.slice(0, 3), ['gemini', '-p', 'P']);
      assert.equal(argv[argv.indexOf('--approval-mode') + 1], 'yolo');
      assert.ok(argv.includes('--skip-trust'));
      assert.equal(argv[argv.indexOf('--output-format') + 1], 'stream-json');
    });

    it('opencode: run --auto <prompt> (nobody to ask), printed as plain text', function () {
      assert.deepEqual(argvOf({ KIRO_AGENT: 'opencode' }), ['opencode', 'run', '--auto', 'P']);
      assert.equal(PRESETS.opencode.output, 'plain');
    });

    it('custom is KIRO_AGENT_COMMAND as before; KIRO_AGENT_COMMAND alone still means custom; with a preset it replaces only the argv', function () {
      assert.deepEqual(argvOf({ KIRO_AGENT: 'custom', KIRO_AGENT_COMMAND: '["my-agent","{taskFile}"]' }), ['my-agent', '/w/TASK.md']);
      assert.equal(loadConfig({ KIRO_AGENT_COMMAND: '["my-agent"]' }).agentPreset, 'custom');
      const c = loadConfig({ KIRO_AGENT: 'claude', KIRO_AGENT_COMMAND: '["/opt/claude/bin/claude","-p","{prompt}"]' });
      assert.equal(c.agentPreset, 'claude');
      assert.deepEqual(c.agentCommand, ['/opt/claude/bin/claude', '-p', '{prompt}']);
      assert.ok(c.agentEnvAllow.includes('ANTHROPIC_API_KEY'));
    });

    it('refuses an unknown preset, and custom without a command, naming the variable', function () {
      fails({ KIRO_AGENT: 'copilot' }, 'KIRO_AGENT', /kiro, claude, codex, gemini, opencode, custom/);
      fails({ KIRO_AGENT: 'custom' }, 'KIRO_AGENT_COMMAND');
      fails({ KIRO_AGENT: 'codex', KIRO_AGENT_KEY_VAR: 'not a name' }, 'KIRO_AGENT_KEY_VAR');
      fails({ KIRO_AGENT: 'codex', KIRO_AGENT_KEY_VAR: 'KIRO_GITHUB_TOKEN' }, 'KIRO_AGENT_KEY_VAR', /service's own secrets/);
      assert.deepEqual(AGENT_PRESETS, ['kiro', 'claude', 'codex', 'gemini', 'opencode', 'custom']);
    });
  });

  describe('environment: the key and configuration home passed through, telemetry and update checks off', function () {
    const source = {
      PATH: '/usr/bin',
      HOME: '/h',
      KIRO_WORKER_TOKEN: 'secret',
      KIRO_GITHUB_TOKEN: 'secret',
      KIRO_API_KEY: 'k1',
      ANTHROPIC_API_KEY: 'k2',
      ANTHROPIC_BASE_URL: 'http://gw',
      CLAUDE_CONFIG_DIR: '/etc/claude',
      OPENAI_API_KEY: 'k3',
      CODEX_HOME: '/etc/codex',
      GEMINI_API_KEY: 'k4',
      GEMINI_CLI_HOME: '/etc/gemini',
      OPENROUTER_API_KEY: 'k5',
      OPENCODE_CONFIG: '/etc/opencode.json',
      UNRELATED_SECRET: 'no',
    };
    const passed = (preset: string, extra: Record<string, string> = {}) => {
      const env = agentEnv(source, loadConfig({ KIRO_AGENT: preset, ...extra }).agentEnvAllow);
      return Object.keys(env)
        .filter((k) => !['TERM', 'COLORTERM', 'CI', 'KIRO_DELEGATE', 'PATH', 'HOME'].includes(k))
        .sort();
    };

    it('passes each preset its own key and configuration variables, and nothing else', function () {
      assert.deepEqual(passed('kiro'), ['KIRO_API_KEY']);
      assert.deepEqual(passed('claude'), ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'CLAUDE_CONFIG_DIR']);
      assert.deepEqual(passed('codex'), ['CODEX_HOME', 'OPENAI_API_KEY']);
      assert.deepEqual(passed('gemini'), ['GEMINI_API_KEY', 'GEMINI_CLI_HOME']);
      assert.deepEqual(passed('opencode'), ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENCODE_CONFIG', 'OPENROUTER_API_KEY']);
      assert.deepEqual(passed('custom', { KIRO_AGENT_COMMAND: '["my-agent"]' }), []);
    });

    it("adds KIRO_AGENT_ENV_ALLOW and KIRO_AGENT_KEY_VAR, and never the service's own secrets", function () {
      assert.deepEqual(
        passed('codex', { KIRO_AGENT_KEY_VAR: 'UNRELATED_SECRET', KIRO_AGENT_ENV_ALLOW: 'KIRO_WORKER_TOKEN,GEMINI_API_KEY' }),
        ['CODEX_HOME', 'GEMINI_API_KEY', 'OPENAI_API_KEY', 'UNRELATED_SECRET'],
      );
    });

    it('sets the variables that keep each CLI quiet', function () {
      assert.deepEqual(PRESETS.claude.env, {
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      });
      assert.equal(PRESETS.kiro.env.KIRO_DISABLE_TELEMETRY, '1');
      assert.equal(PRESETS.gemini.env.GEMINI_TELEMETRY_ENABLED, 'false');
      assert.equal(PRESETS.opencode.env.OPENCODE_DISABLE_AUTOUPDATE, 'true');
      assert.equal(PRESETS.opencode.env.OPENCODE_DISABLE_MODELS_FETCH, 'true');
      assert.deepEqual(JSON.parse(PRESETS.opencode.env.OPENCODE_CONFIG_CONTENT ?? '{}'), {
        autoupdate: false,
        share: 'disabled',
        permission: { edit: 'allow', bash: 'allow', webfetch: 'allow' },
      });
      assert.deepEqual(PRESETS.custom.env, {});
    });
  });

  describe('exit codes', function () {
    it('Kiro: 1 failure or authentication, 3 an MCP server, 4 an agent configuration not found, each its own job error', function () {
      assert.equal(exitError('kiro', 1, null).code, 'AGENT_FAILED');
      assert.match(exitError('kiro', 1, null).message, /KIRO_API_KEY/);
      assert.deepEqual(exitError('kiro', 3, null).code, 'AGENT_MCP_FAILED');
      assert.deepEqual(exitError('kiro', 4, null).code, 'AGENT_CONFIG_NOT_FOUND');
      assert.match(exitError('kiro', 4, null).message, /exit code 4/);
    });

    it('Gemini CLI: 41 authentication, 42 input, 52 configuration, 53 turn limit', function () {
      assert.deepEqual(
        [41, 42, 52, 53].map((c) => exitError('gemini', c, null).code),
        ['AGENT_AUTH_FAILED', 'AGENT_INPUT_ERROR', 'AGENT_CONFIG_ERROR', 'AGENT_TURN_LIMIT'],
      );
    });

    it('any other code is a plain failure naming the CLI, with what the agent said went wrong', function () {
      assert.deepEqual(exitError('claude', 1, 'API Error: 401'), {
        code: 'AGENT_FAILED',
        message: 'Claude Code exited with code 1: API Error: 401',
      });
      assert.deepEqual(exitError('custom', 7, null), { code: 'AGENT_FAILED', message: 'the agent exited with code 7' });
    });
  });

  describe('the key, checked at start', function () {
    it('refuses a preset whose key is in none of its variables, naming the variable', function () {
      assert.equal(missingKey('claude', undefined, { CLAUDE_CODE_OAUTH_TOKEN: 't' }), null);
      const m = missingKey('claude', undefined, { ANTHROPIC_API_KEY: '' });
      assert.equal(m?.variable, 'ANTHROPIC_API_KEY');
      assert.match(m?.message ?? '', /KIRO_AGENT=claude \(Claude Code\).*CLAUDE_CODE_OAUTH_TOKEN.*KIRO_AGENT_KEY_VAR/);
      assert.equal(missingKey('kiro', undefined, {})?.variable, 'KIRO_API_KEY');
      assert.equal(missingKey('custom', undefined, {}), null);
    });

    it("KIRO_AGENT_KEY_VAR names another variable (a Codex provider's env_key), or none (a login in the template HOME)", function () {
      assert.equal(missingKey('codex', 'MY_KEY', { OPENAI_API_KEY: 'k' })?.variable, 'MY_KEY');
      assert.equal(missingKey('codex', 'MY_KEY', { MY_KEY: 'k' }), null);
      assert.equal(missingKey('kiro', 'none', {}), null);
    });

    it('buildApp refuses before anything starts, with the variable in the error', async function () {
      const config = loadConfig({ KIRO_AGENT: 'gemini', KIRO_WORKER_STATE_DIR: await tempDir() });
      await assert.rejects(
        buildApp(config, { logger: false, env: { PATH: '/usr/bin' } }),
        (e: unknown) =>
          ConfigError.is(e) && e.variable === 'GEMINI_API_KEY' && /^GEMINI_API_KEY: required by KIRO_AGENT=gemini/.test(e.message),
      );
    });

    it('the service exits 78 at start, saying which variable to set', async function () {
      const state = await tempDir();
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'worker-service/server.ts'], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: state, KIRO_WORKER_STATE_DIR: state, KIRO_AGENT: 'claude', KIRO_WORKER_PORT: '0' },
      });
      assert.equal(r.status, 78, r.stderr);
      assert.match(r.stderr, /bad configuration: ANTHROPIC_API_KEY: required by KIRO_AGENT=claude/);
    });
  });

  describe("/health's agent", function () {
    it('reports the preset, whether its executable is on PATH, what to install, and its --version', async function () {
      const bin = join(await tempDir(), 'bin');
      await mkdir(bin);
      const env = { PATH: `${bin}:/usr/bin:/bin`, ANTHROPIC_API_KEY: 'k' };
      const health = new AgentHealth(loadConfig({ KIRO_AGENT: 'claude' }), env);
      const missing = await health.report();
      assert.deepEqual(
        { preset: missing.preset, found: missing.found, version: missing.version, command: missing.command },
        { preset: 'claude', found: false, version: null, command: 'claude' },
      );
      assert.match(missing.message, /not found on PATH.*KIRO_AGENT=claude: install npm install -g @anthropic-ai\/claude-code@2\.1\.331/);

      // A stand-in that prints its version only with the preset's variables set, and says where HOME was.
      const script = `#!/bin/sh\n[ "$DISABLE_TELEMETRY" = 1 ] || exit 9\necho "9.9.9 (Claude Code) home=$HOME"\n`;
      await writeFile(join(bin, 'claude'), script);
      await chmod(join(bin, 'claude'), 0o755);
      const found = await health.report();
      assert.equal(found.found, true);
      assert.match(found.version ?? '', /^9\.9\.9 \(Claude Code\) home=\/tmp\/kiro-agent-version-/);
    });

    it('never runs a custom command to ask its version (outside the sandbox, it may not know --version)', async function () {
      const dir = await tempDir();
      const marker = join(dir, 'ran');
      const custom = join(dir, 'my-agent');
      await writeFile(custom, `#!/bin/sh\ntouch ${marker}\necho 1.0\n`);
      await chmod(custom, 0o755);
      const report = await new AgentHealth(loadConfig({ KIRO_AGENT_COMMAND: JSON.stringify([custom, '{prompt}']) }), {
        PATH: '/usr/bin:/bin',
      }).report();
      assert.deepEqual(
        { preset: report.preset, found: report.found, version: report.version },
        { preset: 'custom', found: true, version: null },
      );
      assert.equal(existsSync(marker), false);
    });

    it('a --version that fails, or an executable gone, reports null, not an error', async function () {
      const dir = await tempDir();
      const failing = join(dir, 'failing');
      await writeFile(failing, '#!/bin/sh\nexit 3\n');
      await chmod(failing, 0o755);
      assert.equal(await probeVersion(failing, { PATH: '/usr/bin:/bin' }), null);
      assert.equal(await probeVersion(join(dir, 'absent'), { PATH: '/usr/bin:/bin' }), null);
    });
  });

  it('the prompt the presets get points at TASK.md', function () {
    assert.match(AGENT_PROMPT, /TASK\.md/);
  });
});
