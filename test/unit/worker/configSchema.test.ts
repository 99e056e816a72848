// The configuration's schema and what it drives: unknown-name warnings, every problem at once,
// --check-config (secrets masked, exit 78 on a bad value, through the real entry point) and the
// generated docs page.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isServiceSecret } from '../../../worker-service/agent/command.js';
import { readConfig } from '../../../worker-service/config.js';
import { checkConfig } from '../../../worker-service/config/check.js';
import { renderPage } from '../../../worker-service/config/docs.js';
import { VARIABLES } from '../../../worker-service/config/schema.js';
import { closestName } from '../../../worker-service/config/unknownNames.js';
import { repoRoot } from '../../support/paths.js';
import { tempDir } from '../../support/helpers.js';

/** Every secret of the schema, each with a value found nowhere else (the Redis URL's password is its secret part). */
const SECRETS = {
  KIRO_WORKER_TOKEN: 'worker-token-9f3a1c7e5b',
  KIRO_GITHUB_TOKEN: 'ghp_github-token-4d2b8e6a',
  KIRO_SESSION_SECRET: 'session-secret-1e5c9a3f7b2d8e4a6c0f1b3d5e7a9c2e',
  KIRO_GITHUB_WEBHOOK_SECRET: 'webhook-secret-8b6d4f2a',
  KIRO_METRICS_TOKEN: 'metrics-token-3c7e1a5f',
  KIRO_REDIS_URL: 'rediss://kiro:redis-password-6a2e8c4b@cache.internal:6379/2',
};
const secretValues = [...Object.values(SECRETS).slice(0, -1), 'redis-password-6a2e8c4b'];

function assertNoSecret(text: string, values: string[]) {
  for (const v of values) assert.equal(text.includes(v), false, `a secret's value is in the output: ${v}\n${text}`);
}

describe('configuration schema', function () {
  it('warns of every unknown KIRO_* name in the environment and in the file, suggesting the closest known one', async function () {
    const file = join(await tempDir(), 'worker.json');
    writeFileSync(
      file,
      JSON.stringify({ KIRO_WORKER_SLOTS: 3, KIRO_AGENT_NETWROK: 'none', kiro_log_levle: 'warn', KIRO_WORKER_CONFIG: '/elsewhere.json' }),
    );
    const r = readConfig({
      KIRO_WORKER_CONFIG: file,
      KIRO_WORKER_SLOT: '4',
      KIRO_XYZZY_PLUGH: '1',
      KIRO_API_KEY: 'k',
      PATH: '/bin',
      KIRO_DELEGATE: '1',
    });
    assert.equal(r.config?.slots, 3, 'the misspelt KIRO_WORKER_SLOT changes nothing');
    const by = Object.fromEntries(r.warnings.map((w) => [w.variable, w.message]));
    assert.match(by.KIRO_WORKER_SLOT ?? '', /in the environment.*not a variable the worker reads \(did you mean KIRO_WORKER_SLOTS\?\)/);
    assert.match(by.KIRO_AGENT_NETWROK ?? '', new RegExp(`in ${file}.*did you mean KIRO_AGENT_NETWORK\\?`));
    assert.match(by.kiro_log_levle ?? '', /did you mean KIRO_LOG_LEVEL\?/);
    assert.match(by.KIRO_XYZZY_PLUGH ?? '', /not a variable the worker reads; it is ignored$/, 'nothing close: no guess');
    assert.match(by.KIRO_WORKER_CONFIG ?? '', /environment only/);
    assert.deepEqual(
      Object.keys(by).sort(),
      ['KIRO_AGENT_NETWROK', 'KIRO_WORKER_CONFIG', 'KIRO_WORKER_SLOT', 'KIRO_XYZZY_PLUGH', 'kiro_log_levle'],
      "Kiro CLI's KIRO_API_KEY, KIRO_DELEGATE and PATH are no one's typo",
    );
    assert.equal(closestName('KIRO_GITHUB_TOKNE'), 'KIRO_GITHUB_TOKEN');
  });

  it('a misspelt secret is named in its warning, its value never', function () {
    const r = readConfig({ KIRO_GITHUB_TOKNE: SECRETS.KIRO_GITHUB_TOKEN });
    assert.match(r.warnings[0]?.message ?? '', /did you mean KIRO_GITHUB_TOKEN\?/);
    assertNoSecret(JSON.stringify(r.warnings), [SECRETS.KIRO_GITHUB_TOKEN]);
  });

  it('a fleet setting without KIRO_REDIS_URL is not read (as before) but said to have no effect', function () {
    const r = readConfig({ KIRO_FLEET_LOCK_MS: '10' });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, [{ variable: 'KIRO_FLEET_LOCK_MS', message: 'has no effect without KIRO_REDIS_URL' }]);
  });

  it('reports every bad variable at once, each naming itself', function () {
    const r = readConfig({ KIRO_WORKER_SLOTS: '0', KIRO_WORKER_PORT: 'eighty', KIRO_SANDBOX: 'maybe', KIRO_WORKER_TOKEN: 'short' });
    assert.deepEqual(
      r.errors.map((e) => e.message),
      [
        'KIRO_WORKER_PORT: expected a whole number, got "eighty"',
        'KIRO_WORKER_TOKEN: must be at least 16 characters',
        'KIRO_WORKER_SLOTS: must be between 1 and 64, got 0',
        'KIRO_SANDBOX: expected "on" (the default) or "off", got "maybe"',
      ],
    );
    assert.equal(r.config, undefined);
  });

  it('--check-config (in process) prints the effective configuration with every secret masked', function () {
    const r = checkConfig({
      ...SECRETS,
      KIRO_AUTH: 'github',
      KIRO_API_KEY: 'agent-key-5e1f',
      KIRO_GITHUB_TOKNE: 'misspelt-secret-0c4d',
      KIRO_WORKER_SLOTS: '3',
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assertNoSecret(r.stdout + r.stderr, [...secretValues, 'agent-key-5e1f', 'misspelt-secret-0c4d']);
    assert.match(r.stdout, /KIRO_WORKER_SLOTS=3 {2}\(environment\)/);
    assert.match(r.stdout, /KIRO_WORKER_TOKEN=\*\*\*/);
    assert.match(r.stdout, /rediss:\/\/kiro:\*\*\*@cache\.internal:6379\/2/, 'the Redis URL shows where it points, not its password');
    const effective = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
      slots: number;
      token: string;
      identity: { sessionSecret: string };
      webhooks: { secret: string };
    };
    assert.deepEqual(
      [effective.slots, effective.token, effective.identity.sessionSecret, effective.webhooks.secret],
      [3, '***', '***', '***'],
    );
    assert.match(r.stderr, /KIRO_GITHUB_TOKNE: .*did you mean KIRO_GITHUB_TOKEN\?/);
  });

  it('npm start -- --check-config (the real entry point): exit 0 with secrets masked, exit 78 with every problem', async function () {
    this.timeout(60_000);
    const state = await tempDir();
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'worker-service/server.ts', '--check-config'], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 50_000,
        env: { PATH: process.env.PATH, HOME: state, KIRO_WORKER_STATE_DIR: state, KIRO_API_KEY: 'agent-key-5e1f', ...env },
      });
    const ok = run({ ...SECRETS, KIRO_AUTH: 'github', KIRO_WORKER_PORT: '0' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /the configuration is valid/);
    assertNoSecret(ok.stdout + ok.stderr, [...secretValues, 'agent-key-5e1f']);
    const bad = run({ KIRO_WORKER_SLOTS: '65', KIRO_AUTH: 'oauth', KIRO_WORKER_TOKEN: SECRETS.KIRO_WORKER_TOKEN });
    assert.equal(bad.status, 78, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /bad configuration: KIRO_WORKER_SLOTS: must be between 1 and 64, got 65/);
    assert.match(bad.stderr, /bad configuration: KIRO_AUTH: expected "token"/);
    assert.match(bad.stderr, /2 problems; nothing started/);
    assertNoSecret(bad.stdout + bad.stderr, [SECRETS.KIRO_WORKER_TOKEN]);
  });

  it('docs/worker/configuration.md is what the schema generates', function () {
    const page = readFileSync(join(repoRoot, 'docs/worker/configuration.md'), 'utf8');
    assert.ok(
      renderPage(page) === page,
      'docs/worker/configuration.md is out of date with worker-service/config/schema.ts: run `npm run docs:config` and commit the page',
    );
  });

  it("every secret of the schema is one of the service's own, never passed to an agent", function () {
    const secrets = VARIABLES.filter(([, s]) => s.secret).map(([n]) => n);
    assert.deepEqual(secrets.sort(), Object.keys(SECRETS).sort(), 'the hostile tests above cover each secret');
    for (const name of secrets) assert.ok(isServiceSecret(name), name);
  });

  it('README.md names every variable of the schema', function () {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    for (const [name] of VARIABLES) assert.ok(readme.includes(`\`${name}\``), `README.md does not name ${name}`);
  });
});
