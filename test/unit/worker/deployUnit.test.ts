// deploy/kiro-worker.service and deploy/worker.env.example, the README's deployment:
// the unit lets the service drain before systemd kills anything, and the example loads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../worker-service/config.js';
import { repoRoot } from '../../support/paths.js';

/** `Key=Value` lines of an ini-like file (systemd unit, EnvironmentFile), comments and sections aside; a key may repeat. */
function entries(text: string): [string, string][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('['))
    .map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i), l.slice(i + 1)];
    });
}

describe('deploy/kiro-worker.service', function () {
  const unit = entries(readFileSync(join(repoRoot, 'deploy', 'kiro-worker.service'), 'utf8'));
  const one = (key: string) => {
    const values = unit.filter(([k]) => k === key).map(([, v]) => v);
    assert.equal(values.length, 1, `${key} once: ${values.join(', ')}`);
    return values[0] ?? '';
  };
  const example = Object.fromEntries(entries(readFileSync(join(repoRoot, 'deploy', 'worker.env.example'), 'utf8')));

  it("SIGTERM reaches only the service, which drains; systemd waits longer than the drain and the agents' kill grace", function () {
    assert.equal(one('KillSignal'), 'SIGTERM');
    assert.equal(one('KillMode'), 'mixed', 'the default SIGTERMs every agent at once, leaving the drain nothing to wait for');
    // The example host's own graces (the defaults unless it sets them), with what secrets.env adds (it listens beyond loopback: the token).
    const config = loadConfig({
      ...example,
      KIRO_WORKER_TOKEN: 'a-token-of-sixteen-chars',
      KIRO_REDIS_URL: 'rediss://:secret@redis.internal:6379/0',
    });
    const stopSec = Number(one('TimeoutStopSec'));
    assert.ok(
      stopSec * 1000 >= config.shutdownGraceMs + config.killGraceMs + 10_000,
      `TimeoutStopSec=${stopSec} s vs drain ${config.shutdownGraceMs} ms + kill grace ${config.killGraceMs} ms + 10 s to close`,
    );
  });

  it('restarts on failure, delegates its cgroup for per-agent limits, and runs what npm start runs', function () {
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('Delegate'), 'yes');
    const server = /dist\/worker\/server\.mjs/;
    assert.match(one('ExecStart'), server);
    assert.match(readFileSync(join(repoRoot, 'scripts', 'start.sh'), 'utf8'), server);
  });

  it("reads the host's settings and its secrets from files under /etc/kiro-worker, which agents cannot see", function () {
    assert.deepEqual(
      unit.filter(([k]) => k === 'EnvironmentFile').map(([, v]) => v),
      ['/etc/kiro-worker/worker.env', '/etc/kiro-worker/secrets.env'],
    );
    assert.equal(
      unit.some(([k, v]) => k === 'Environment' && /TOKEN|REDIS_URL|PRIVATE_KEY/.test(v)),
      false,
      'no secret inline in the unit',
    );
    for (const secret of ['KIRO_WORKER_TOKEN', 'KIRO_REDIS_URL', 'KIRO_GITHUB_TOKEN', 'KIRO_GITHUB_APP_PRIVATE_KEY_FILE'])
      assert.equal(secret in example, false, `${secret} belongs in secrets.env`);
  });
});
