import assert from 'node:assert/strict';
import { parseGitHubRemote, pickRemote } from '../../../extension/git/remote.js';
import { ago, applySlots, describeHealth, poolPickItems } from '../../../extension/ui/healthView.js';
import { hasGitHubSignIn, resolveGitHubToken } from '../../../extension/auth/githubToken.js';
import { validateForm, listItems, submissionKey } from '../../../extension/form/validation.js';
import { parseFromWebview, emptyValues, type FormValues } from '../../../shared/webviewProtocol.js';
import type { PoolHealth } from '../../../shared/protocol.js';

const health = (over: Partial<PoolHealth> = {}): PoolHealth => ({
  slots: [
    { id: 0, state: 'busy', jobId: 'abcdef123456', since: '' },
    { id: 1, state: 'idle', jobId: null, since: '' },
  ],
  queued: 3,
  running: 1,
  capacity: 2,
  queueLimit: 10,
  accepting: true,
  agent: { command: 'kiro-cli', found: true, message: '' },
  version: '0.1.0',
  protocol: 1,
  uptimeSeconds: 5,
  ...over,
});

describe('extension plain modules', function () {
  it('reads owner and repo from https, ssh and scp-like remotes', function () {
    assert.deepEqual(parseGitHubRemote('https://github.com/octo/app.git'), { host: 'github.com', owner: 'octo', repo: 'app' });
    assert.deepEqual(parseGitHubRemote('git@github.com:octo/app.git'), { host: 'github.com', owner: 'octo', repo: 'app' });
    assert.deepEqual(parseGitHubRemote('ssh://git@ghe.corp:22/team/svc'), { host: 'ghe.corp', owner: 'team', repo: 'svc' });
    assert.deepEqual(parseGitHubRemote('http://127.0.0.1:3000/alice/app.git'), { host: '127.0.0.1', owner: 'alice', repo: 'app' });
    assert.equal(parseGitHubRemote('not a url'), undefined);
    assert.equal(pickRemote([{ name: 'fork' }, { name: 'origin' }])?.name, 'origin');
  });

  it('describes pool health for the status bar: busy count, queue, colours, reasons', function () {
    const v = describeHealth({ kind: 'ok', health: health() });
    assert.match(
      describeHealth({
        kind: 'ok',
        health: health({ agent: { command: 'codex', found: true, message: 'ok', preset: 'codex', version: 'codex-cli 0.169.0' } }),
      }).tooltip,
      /Agent: codex \(codex-cli 0\.169\.0\)/,
      'the preset and its version',
    );
    assert.equal(v.text, '$(sync~spin) Kiro 1/2 busy · 3 queued');
    assert.equal(v.severity, 'normal');
    assert.match(v.tooltip, /slot 0: busy \(job abcdef12\)\n- slot 1: idle/);
    const full = describeHealth({
      kind: 'ok',
      health: health({
        slots: [
          { id: 0, state: 'busy', jobId: 'a', since: '' },
          { id: 1, state: 'busy', jobId: 'b', since: '' },
        ],
        queued: 0,
      }),
    });
    assert.equal(full.severity, 'warning');
    assert.equal(full.text, '$(sync~spin) Kiro 2/2 busy');
    assert.equal(
      describeHealth({ kind: 'unreachable', message: 'The Kiro worker at http://x is unreachable (ECONNREFUSED).' }).severity,
      'error',
    );
    assert.match(describeHealth({ kind: 'unauthorized', message: 'refused' }).tooltip, /Set Worker Token/);
    assert.match(
      describeHealth({ kind: 'ok', health: health({ agent: { command: 'kiro-cli', found: false, message: 'kiro-cli was not found' } }) })
        .tooltip,
      /not found/,
    );
    const boxed = describeHealth({
      kind: 'ok',
      health: health({ sandbox: { enabled: true, limits: 'cgroup-v2', network: 'none', warning: null } }),
    });
    assert.match(boxed.tooltip, /Agents run sandboxed \(network: none, limits: cgroup-v2\)/);
    assert.equal(boxed.severity, 'normal');
    const open = describeHealth({
      kind: 'ok',
      health: health({ sandbox: { enabled: false, limits: 'none', network: 'open', warning: 'KIRO_SANDBOX=off: agents run unconfined' } }),
    });
    assert.match(open.tooltip, /⚠ KIRO_SANDBOX=off: agents run unconfined/);
    assert.equal(open.severity, 'warning', 'an unconfined worker shows in the warning colour');
  });

  describe('a fleet of worker hosts on Redis', function () {
    const now = Date.parse('2025-06-01T12:00:00Z');
    const seen = (msAgo: number) => new Date(now - msAgo).toISOString();
    const slot = (host: string, id: number, jobId: string | null): PoolHealth['slots'][number] => ({
      id,
      host,
      state: jobId ? 'busy' : 'idle',
      jobId,
      since: seen(60_000),
    });
    const fleet = (over: Partial<PoolHealth> = {}): PoolHealth =>
      health({
        queue: 'redis',
        slots: [
          slot('host-a', 0, 'job-a0-1234567'),
          slot('host-a', 1, null),
          slot('host-b', 0, 'job-b0-1234567'),
          slot('host-b', 1, 'job-b1-1234567'),
          slot('host-c', 0, null),
          slot('host-c', 1, null),
        ],
        queued: 0,
        running: 3,
        capacity: 6,
        // Listed out of order: the tooltip and the picker sort them.
        hosts: [
          { id: 'host-c', slots: 2, busy: 0, version: '0.2.0', accepting: false, lastSeen: seen(12_000) },
          { id: 'host-a', slots: 2, busy: 1, version: '0.1.0', accepting: true, lastSeen: seen(2_000) },
          { id: 'host-b', slots: 2, busy: 2, version: '0.1.0', accepting: true, lastSeen: seen(400) },
        ],
        ...over,
      });

    it('counts the hosts in the status bar and lists each in the tooltip: busy/slots, version, last seen, draining', function () {
      const v = describeHealth({ kind: 'ok', health: fleet() }, now);
      assert.equal(v.text, '$(sync~spin) Kiro 3/6 busy · 3 hosts');
      assert.equal(v.severity, 'normal', 'a draining host is a rolling deploy, not a problem');
      assert.match(
        v.tooltip,
        /Fleet on Redis: 3 hosts, 6 slots\n- host-a: 1\/2 busy · 0\.1\.0 · seen 2 s ago — job job-a0-1\n- host-b: 2\/2 busy · 0\.1\.0 · seen just now — jobs job-b0-1, job-b1-1\n- host-c: 0\/2 busy · 0\.2\.0 · seen 12 s ago · draining\n\nAgent/,
      );
      assert.doesNotMatch(v.tooltip, /slot \d: idle/, 'a line per host, not per slot (the picker has every slot)');
      const odd = describeHealth(
        {
          kind: 'ok',
          health: fleet({
            slots: [
              ...fleet().slots.slice(0, 4),
              { id: 0, state: 'restarting', jobId: null, since: seen(1000), host: 'host-c' },
              slot('host-x', 0, 'job-x0-1234567'),
            ],
          }),
        },
        now,
      );
      assert.match(odd.tooltip, /- host-c: 0\/2 busy · 0\.2\.0 · seen 12 s ago · draining — slot 0 restarting\n/);
      assert.match(
        odd.tooltip,
        /\n- host-x slot 0: busy \(job job-x0-1\)\n\nAgent/,
        'a slot of a host not (or no longer) listed still shows, named with its host',
      );
      assert.doesNotMatch(v.tooltip, /host-[ab]: [^\n]*draining/);
      assert.equal(
        describeHealth({ kind: 'ok', health: fleet({ queued: 4, hosts: [fleet().hosts![1]!] }) }, now).text,
        '$(sync~spin) Kiro 3/6 busy · 4 queued · 1 host',
      );
      assert.equal(
        describeHealth({ kind: 'ok', health: fleet({ slots: fleet().slots.map((s) => ({ ...s, state: 'busy' as const })) }) }, now)
          .severity,
        'warning',
        'every slot of the fleet busy',
      );
      // A single worker (no hosts) keeps today's wording and tooltip.
      const single = describeHealth({ kind: 'ok', health: health({ queue: 'embedded' }) }, now);
      assert.equal(single.text, '$(sync~spin) Kiro 1/2 busy · 3 queued');
      assert.doesNotMatch(single.tooltip, /host|Fleet/);
    });

    it('says how long ago a host was seen, whatever the clocks', function () {
      assert.equal(ago(seen(0), now), 'just now');
      assert.equal(ago(seen(-5_000), now), 'just now', 'a host whose clock runs ahead');
      assert.equal(ago(seen(59_999), now), '59 s ago');
      assert.equal(ago(seen(3 * 60_000 + 5_000), now), '3 min ago');
      assert.equal(ago(seen(2 * 3_600_000), now), '2 h ago');
      assert.equal(ago('not a date', now), 'at an unknown time');
    });

    it('a slots event from the live stream carries the hosts into the status bar; one without hosts keeps those known', function () {
      const before = fleet();
      const hosts = [
        { id: 'host-a', slots: 2, busy: 2, version: '0.1.0', accepting: true, lastSeen: seen(100) },
        { id: 'host-d', slots: 4, busy: 0, version: '0.1.0', accepting: true, lastSeen: seen(100) },
      ];
      const slots = [slot('host-a', 0, 'j1'), slot('host-a', 1, 'j2'), ...[0, 1, 2, 3].map((i) => slot('host-d', i, null))];
      const after = applySlots(before, { slots, queued: 1, running: 2, capacity: 6, hosts });
      assert.deepEqual(after.hosts, hosts, 'host-b and host-c left, host-d joined');
      assert.equal(after.version, before.version, 'what the event does not carry stays');
      assert.equal(describeHealth({ kind: 'ok', health: after }, now).text, '$(sync~spin) Kiro 2/6 busy · 1 queued · 2 hosts');
      const kept = applySlots(after, { slots, queued: 0, running: 2, capacity: 6 });
      assert.deepEqual(kept.hosts, hosts);
      assert.equal(kept.queued, 0);
      // A single worker's events never bring hosts in.
      assert.equal(applySlots(health(), { slots: health().slots, queued: 0, running: 1, capacity: 2 }).hosts, undefined);
    });

    it('the "Show Worker Pool" picker groups the slots under their hosts and keeps a single worker\'s list as it was', function () {
      const items = poolPickItems(fleet(), now, () => '12:00');
      assert.deepEqual(
        items.map((i) => `${i.kind === 'separator' ? '# ' : ''}${i.label}`),
        [
          '# Worker 0.1.0: 3/6 busy, 0 queued, 3 hosts',
          '# host-a: 1/2 busy · 0.1.0 · seen 2 s ago',
          '$(server) host-a · Slot 0: busy',
          '$(server) host-a · Slot 1: idle',
          '# host-b: 2/2 busy · 0.1.0 · seen just now',
          '$(server) host-b · Slot 0: busy',
          '$(server) host-b · Slot 1: busy',
          '# host-c: 0/2 busy · 0.2.0 · seen 12 s ago · draining',
          '$(server) host-c · Slot 0: idle',
          '$(server) host-c · Slot 1: idle',
        ],
      );
      assert.deepEqual(items[2], {
        kind: 'item',
        label: '$(server) host-a · Slot 0: busy',
        description: 'job-a0-1234567',
        detail: "since 12:00 · pick to show the agent's output",
        jobId: 'job-a0-1234567',
      });
      assert.equal(items[3]?.jobId, undefined, 'an idle slot opens nothing');
      // A slot whose host has gone from the list still shows.
      const orphan = poolPickItems(fleet({ hosts: fleet().hosts!.filter((x) => x.id !== 'host-c') }), now, () => '12:00');
      assert.deepEqual(
        orphan.slice(-3).map((i) => i.label),
        ['other slots', '$(server) host-c · Slot 0: idle', '$(server) host-c · Slot 1: idle'],
      );
      assert.deepEqual(
        poolPickItems(health(), now, () => '12:00').map((i) => i.label),
        ['Worker 0.1.0: 1/2 busy, 3 queued', '$(server) Slot 0: busy', '$(server) Slot 1: idle'],
      );
    });
  });

  it('gets the GitHub token from the session, a stored token, or reports a missing provider', async function () {
    const session = { accessToken: 'gho_s', account: { label: 'alice' } };
    assert.deepEqual(await resolveGitHubToken({ getSession: async () => session, storedToken: async () => undefined }, false), {
      kind: 'token',
      token: 'gho_s',
      source: 'session',
      account: 'alice',
    });
    assert.deepEqual(await resolveGitHubToken({ getSession: async () => session, storedToken: async () => 'ghp_pasted' }, false), {
      kind: 'token',
      token: 'ghp_pasted',
      source: 'stored',
    });
    assert.deepEqual(
      await resolveGitHubToken({ getSession: () => new Promise(() => undefined), storedToken: async () => undefined, timeoutMs: 20 }, true),
      { kind: 'none', reason: 'no-provider' },
    );
    assert.deepEqual(await resolveGitHubToken({ getSession: async () => undefined, storedToken: async () => undefined }, false), {
      kind: 'none',
      reason: 'not-signed-in',
    });
    assert.deepEqual(
      await resolveGitHubToken(
        {
          getSession: async () => {
            throw new Error('User did not consent / Cancelled');
          },
          storedToken: async () => undefined,
        },
        true,
      ),
      { kind: 'none', reason: 'cancelled' },
    );
  });

  it('goes straight to the token path where GitHub sign-in cannot work (code-server, VSCodium): no sign-in is even asked', async function () {
    assert.equal(hasGitHubSignIn({ appName: 'Visual Studio Code', githubAuthExtension: true }), true);
    assert.equal(hasGitHubSignIn({ appName: 'Visual Studio Code - Insiders', githubAuthExtension: true }), true);
    assert.equal(hasGitHubSignIn({ appName: 'code-server', githubAuthExtension: true }), false);
    assert.equal(hasGitHubSignIn({ appName: 'VSCodium', githubAuthExtension: true }), false);
    assert.equal(hasGitHubSignIn({ appName: 'OpenVSCode Server', githubAuthExtension: true }), false);
    assert.equal(hasGitHubSignIn({ appName: 'Visual Studio Code', githubAuthExtension: false }), false);
    let asked = 0;
    const getSession = async () => {
      asked++;
      return { accessToken: 'gho_s', account: { label: 'alice' } };
    };
    assert.deepEqual(await resolveGitHubToken({ getSession, storedToken: async () => undefined, signInAvailable: false }, true), {
      kind: 'none',
      reason: 'no-provider',
    });
    assert.equal(asked, 0, "no sign-in prompt (VS Code's modal) where it cannot succeed");
    assert.deepEqual(await resolveGitHubToken({ getSession, storedToken: async () => 'ghp_pasted', signInAvailable: false }, true), {
      kind: 'token',
      token: 'ghp_pasted',
      source: 'stored',
    });
  });

  it('validates the form and names each bad field', function () {
    const values: FormValues = {
      ...emptyValues(),
      owner: 'octo',
      repo: 'app',
      baseBranch: 'main',
      title: 'Add login',
      objective: 'Sign in',
      constraints: '- no deps\n\n* small',
      acceptanceCriteria: '- [ ] works\n1. tested',
    };
    const ok = validateForm(values);
    assert.ok(ok.ok);
    if (ok.ok) {
      assert.equal(ok.value.prTitle, 'Add login', 'PR title defaults to the task title');
      assert.deepEqual(ok.value.constraints, ['no deps', 'small']);
      assert.deepEqual(ok.value.acceptanceCriteria, ['works', 'tested']);
    }
    const bad = validateForm({ ...values, owner: '-x', repo: '..', baseBranch: 'a..b', title: '', objective: ' ' });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.deepEqual(Object.keys(bad.errors).sort(), ['baseBranch', 'objective', 'owner', 'repo', 'title']);
    assert.deepEqual(listItems(''), []);
  });

  it('treats a submission as the same task when repository, base, title and objective match (the form then asks before a second PR)', function () {
    const values: FormValues = {
      ...emptyValues(),
      owner: 'octo',
      repo: 'app',
      baseBranch: 'main',
      title: 'Add login',
      objective: 'Sign in',
    };
    const key = (v: FormValues) => {
      const r = validateForm(v);
      assert.ok(r.ok);
      return r.ok ? submissionKey(r.value) : '';
    };
    assert.equal(
      key(values),
      key({ ...values, owner: 'Octo', repo: 'APP', title: ' Add login ', prTitle: 'Other PR title', constraints: 'x' }),
      'case of names, spaces, PR title and lists do not matter',
    );
    for (const change of [{ baseBranch: 'dev' }, { title: 'Add logout' }, { objective: 'Sign out' }, { repo: 'web' }, { owner: 'other' }]) {
      assert.notEqual(key(values), key({ ...values, ...change }), JSON.stringify(change));
    }
  });

  it('accepts only well-formed messages from the webview', function () {
    const values = emptyValues();
    assert.deepEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseFromWebview({ type: 'submit', requestId: 1, values }), { type: 'submit', requestId: 1, values });
    for (const bad of [
      null,
      'ready',
      { type: 'submit', values },
      { type: 'submit', requestId: 1, values: { owner: 1 } },
      { type: 'openExternal', url: 'javascript:alert(1)' },
      { type: 'eval', code: 'x' },
    ]) {
      assert.equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
    }
    assert.deepEqual(parseFromWebview({ type: 'openExternal', url: 'https://github.com/x' }), {
      type: 'openExternal',
      url: 'https://github.com/x',
    });
  });
});
