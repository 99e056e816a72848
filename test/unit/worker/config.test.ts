import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadConfig, ConfigError, repoAllowed, DEFAULT_AGENT_COMMAND } from '../../../worker-service/config.js';
import { expandCommand, agentEnv, findAgent } from '../../../worker-service/agent/command.js';
import { tokenMatches } from '../../../worker-service/plugins/auth.js';

const fails = (env: Record<string, string>, variable: string) =>
  assert.throws(
    () => loadConfig(env),
    (e: unknown) => ConfigError.is(e) && e.variable === variable && e.message.startsWith(variable),
  );

describe('worker configuration', function () {
  it('has embedded defaults: loopback, 8080, 2 slots, 10 minutes, kiro-cli', function () {
    const c = loadConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.slots, 2);
    assert.equal(c.jobTimeoutMs, 600_000);
    assert.deepEqual(c.agentCommand, DEFAULT_AGENT_COMMAND);
    assert.equal(c.gitBaseUrl, 'https://github.com');
    assert.equal(c.slotRestartMs, 5000);
    assert.equal(c.healthIntervalMs, 60_000);
  });

  it('names the variable at fault', function () {
    fails({ KIRO_WORKER_HOST: '0.0.0.0' }, 'KIRO_WORKER_TOKEN');
    fails({ KIRO_WORKER_TOKEN: 'short' }, 'KIRO_WORKER_TOKEN');
    fails({ KIRO_WORKER_PORT: 'eighty' }, 'KIRO_WORKER_PORT');
    fails({ KIRO_WORKER_SLOTS: '0' }, 'KIRO_WORKER_SLOTS');
    fails({ KIRO_JOB_TIMEOUT_MS: '-5' }, 'KIRO_JOB_TIMEOUT_MS');
    fails({ KIRO_AGENT_COMMAND: 'kiro-cli chat' }, 'KIRO_AGENT_COMMAND');
    fails({ KIRO_AGENT_COMMAND: '[1,2]' }, 'KIRO_AGENT_COMMAND');
    fails({ KIRO_GIT_BASE_URL: 'ftp://x' }, 'KIRO_GIT_BASE_URL');
    fails({ KIRO_GIT_BASE_URL: 'https://user:pw@github.com' }, 'KIRO_GIT_BASE_URL');
    fails({ KIRO_REPO_ALLOWLIST: 'alice' }, 'KIRO_REPO_ALLOWLIST');
    fails({ KIRO_WORKER_CONFIG: '/nonexistent.json' }, 'KIRO_WORKER_CONFIG');
    assert.equal(loadConfig({ KIRO_WORKER_HOST: '0.0.0.0', KIRO_WORKER_TOKEN: 'a-long-enough-token' }).host, '0.0.0.0');
  });

  it('identity: token mode by default; github mode needs a long session secret, the admin token and a GitHub credential', function () {
    const d = loadConfig({});
    assert.deepEqual(
      [
        d.identity.mode,
        d.identity.branchPrefix,
        d.identity.userMaxActive,
        d.identity.userMaxJobsPerDay,
        d.identity.sessionTtlS,
        d.jobMaxTokens,
      ],
      ['token', 'kiro/', 5, 100, 43_200, undefined],
    );
    const github = {
      KIRO_AUTH: 'github',
      KIRO_SESSION_SECRET: 'x'.repeat(32),
      KIRO_WORKER_TOKEN: 'a-long-enough-token',
      KIRO_GITHUB_TOKEN: 'ghp_x',
    };
    assert.equal(loadConfig(github).identity.mode, 'github');
    fails({ ...github, KIRO_SESSION_SECRET: '' }, 'KIRO_SESSION_SECRET');
    fails({ ...github, KIRO_SESSION_SECRET: 'x'.repeat(31) }, 'KIRO_SESSION_SECRET');
    fails({ ...github, KIRO_WORKER_TOKEN: '' }, 'KIRO_WORKER_TOKEN');
    fails({ ...github, KIRO_GITHUB_TOKEN: '' }, 'KIRO_AUTH');
    fails({ KIRO_AUTH: 'oauth' }, 'KIRO_AUTH');
    fails({ KIRO_BRANCH_PREFIX: '-x/' }, 'KIRO_BRANCH_PREFIX');
    fails({ KIRO_BRANCH_PREFIX: 'a/../b' }, 'KIRO_BRANCH_PREFIX');
    fails({ KIRO_TRUST_PROXY: 'maybe' }, 'KIRO_TRUST_PROXY');
    fails({ KIRO_JOB_MAX_TOKENS: '0' }, 'KIRO_JOB_MAX_TOKENS');
    assert.equal(loadConfig({ KIRO_BRANCH_PREFIX: '' }).identity.branchPrefix, '');
    assert.equal(loadConfig({ KIRO_JOB_MAX_TOKENS: '5000' }).jobMaxTokens, 5000);
    assert.equal(loadConfig({ KIRO_TRUST_PROXY: '1' }).identity.trustProxy, 1);
    assert.equal(loadConfig({}).identity.trustProxy, 0);
    // GitHub credentials without a token: only on purpose.
    fails({ KIRO_GITHUB_TOKEN: 'ghp_x' }, 'KIRO_WORKER_TOKEN');
    assert.equal(loadConfig({ KIRO_GITHUB_TOKEN: 'ghp_x', KIRO_ALLOW_UNAUTHENTICATED: '1' }).token, undefined);
    assert.equal(loadConfig({}).token, undefined, 'no credentials, nothing to protect: the embedded default');
  });

  it("a fleet: KIRO_REDIS_URL switches to the shared queue, with this host's id and the lock settings", function () {
    assert.equal(loadConfig({}).fleet, undefined, 'no Redis: the embedded queue');
    const f = loadConfig({
      KIRO_REDIS_URL: 'rediss://kiro:secret@cache.internal:6379/2',
      KIRO_WORKER_ID: 'worker-1',
      KIRO_FLEET_LOCK_MS: '12000',
    }).fleet;
    assert.deepEqual(f, {
      redisUrl: 'rediss://kiro:secret@cache.internal:6379/2',
      workerId: 'worker-1',
      lockMs: 12_000,
      stalledCheckMs: 3_000,
      heartbeatMs: 5_000,
      branchLockMs: 10_000,
    });
    assert.match(
      loadConfig({ KIRO_REDIS_URL: 'redis://127.0.0.1:6379', KIRO_WORKER_PORT: '8081' }).fleet?.workerId ?? '',
      /:8081$/,
      'default id: host name and port',
    );
    fails({ KIRO_REDIS_URL: 'http://127.0.0.1:6379' }, 'KIRO_REDIS_URL');
    fails({ KIRO_REDIS_URL: 'redis://127.0.0.1:6379/queue' }, 'KIRO_REDIS_URL');
    fails({ KIRO_REDIS_URL: 'redis://127.0.0.1:6379', KIRO_WORKER_ID: 'a b' }, 'KIRO_WORKER_ID');
    fails({ KIRO_REDIS_URL: 'redis://127.0.0.1:6379', KIRO_FLEET_LOCK_MS: '10' }, 'KIRO_FLEET_LOCK_MS');
    fails({ KIRO_REDIS_URL: 'redis://127.0.0.1:6379', KIRO_FLEET_HEARTBEAT_MS: 'often' }, 'KIRO_FLEET_HEARTBEAT_MS');
    // The URL may hold Redis's password: never passed to an agent, even when listed.
    assert.equal(agentEnv({ KIRO_REDIS_URL: 'redis://:pw@h:6379' }, ['KIRO_REDIS_URL']).KIRO_REDIS_URL, undefined);
  });

  it('reads a config file, with the environment winning', function () {
    const file = join(tmpdir(), `kiro-config-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ KIRO_WORKER_SLOTS: 4, KIRO_WORKER_PORT: '9000', KIRO_AGENT_COMMAND: ['my-agent', '{taskFile}'] }));
    const c = loadConfig({ KIRO_WORKER_CONFIG: file, KIRO_WORKER_PORT: '9100' });
    assert.equal(c.slots, 4);
    assert.equal(c.port, 9100);
    assert.deepEqual(c.agentCommand, ['my-agent', '{taskFile}']);
  });

  it('applies the allow-list', function () {
    const rules = loadConfig({ KIRO_REPO_ALLOWLIST: 'acme/*, Alice/app' }).repoAllowlist;
    assert.ok(repoAllowed(rules, 'acme', 'anything'));
    assert.ok(repoAllowed(rules, 'alice', 'App'));
    assert.equal(repoAllowed(rules, 'alice', 'other'), false);
    assert.ok(repoAllowed(undefined, 'x', 'y'));
  });

  it('replaces {prompt} and {taskFile} as whole arguments only', function () {
    const argv = expandCommand(['agent', '--task={taskFile}', '{taskFile}', '{prompt}', 'x{prompt}'], {
      prompt: 'do "$(it)"',
      taskFile: '/w/TASK.md',
    });
    assert.deepEqual(argv, ['agent', '--task={taskFile}', '/w/TASK.md', 'do "$(it)"', 'x{prompt}']);
  });

  it("builds the agent environment from an allow-list, never with the service's secrets", function () {
    const env = agentEnv(
      {
        PATH: '/bin',
        HOME: '/h',
        KIRO_WORKER_TOKEN: 's1',
        KIRO_GITHUB_TOKEN: 's2',
        GIT_CONFIG_COUNT: '1',
        AWS_SECRET_ACCESS_KEY: 's3',
        EXTRA: 'e',
      },
      ['EXTRA', 'KIRO_GITHUB_TOKEN'],
    );
    assert.equal(env.PATH, '/bin');
    assert.equal(env.EXTRA, 'e');
    assert.equal(env.TERM, 'xterm-256color');
    for (const k of ['KIRO_WORKER_TOKEN', 'KIRO_GITHUB_TOKEN', 'GIT_CONFIG_COUNT', 'AWS_SECRET_ACCESS_KEY'])
      assert.equal(k in env, false, k);
  });

  it('finds the agent on PATH or says what to set', function () {
    assert.equal(findAgent('git').found, true);
    const missing = findAgent('kiro-cli', '/nonexistent');
    assert.equal(missing.found, false);
    assert.match(missing.message, /KIRO_AGENT_COMMAND/);
    assert.equal(findAgent('/bin/sh').found, true);
  });

  it('compares bearer tokens exactly', function () {
    assert.ok(tokenMatches('secret-token-123456', 'Bearer secret-token-123456'));
    assert.ok(tokenMatches('secret-token-123456', 'bearer secret-token-123456'));
    for (const h of [
      undefined,
      '',
      'Bearer',
      'Bearer secret-token-12345',
      'Bearer secret-token-1234567',
      'Basic secret-token-123456',
      'Bearer secret-token-123456 x',
    ]) {
      assert.equal(tokenMatches('secret-token-123456', h), false, String(h));
    }
  });
});
