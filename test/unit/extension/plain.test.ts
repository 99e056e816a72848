import assert from 'node:assert/strict';
import { parseGitHubRemote, pickRemote } from '../../../extension/git/remote.js';
import { describeHealth } from '../../../extension/ui/healthView.js';
import { hasGitHubSignIn, resolveGitHubToken } from '../../../extension/auth/githubToken.js';
import { validateForm, listItems, submissionKey } from '../../../extension/form/validation.js';
import { parseFromWebview, emptyValues, type FormValues } from '../../../shared/webviewProtocol.js';
import type { PoolHealth } from '../../../shared/protocol.js';

const health = (over: Partial<PoolHealth> = {}): PoolHealth => ({
  slots: [{ id: 0, state: 'busy', jobId: 'abcdef123456', since: '' }, { id: 1, state: 'idle', jobId: null, since: '' }],
  queued: 3, running: 1, capacity: 2, queueLimit: 10, accepting: true, agent: { command: 'kiro-cli', found: true, message: '' }, version: '0.1.0', protocol: 1, uptimeSeconds: 5, ...over,
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
    assert.equal(v.text, '$(sync~spin) Kiro 1/2 busy · 3 queued');
    assert.equal(v.severity, 'normal');
    assert.match(v.tooltip, /slot 0: busy \(job abcdef12\)\n- slot 1: idle/);
    const full = describeHealth({ kind: 'ok', health: health({ slots: [{ id: 0, state: 'busy', jobId: 'a', since: '' }, { id: 1, state: 'busy', jobId: 'b', since: '' }], queued: 0 }) });
    assert.equal(full.severity, 'warning');
    assert.equal(full.text, '$(sync~spin) Kiro 2/2 busy');
    assert.equal(describeHealth({ kind: 'unreachable', message: 'The Kiro worker at http://x is unreachable (ECONNREFUSED).' }).severity, 'error');
    assert.match(describeHealth({ kind: 'unauthorized', message: 'refused' }).tooltip, /Set Worker Token/);
    assert.match(describeHealth({ kind: 'ok', health: health({ agent: { command: 'kiro-cli', found: false, message: 'kiro-cli was not found' } }) }).tooltip, /not found/);
    const boxed = describeHealth({ kind: 'ok', health: health({ sandbox: { enabled: true, limits: 'cgroup-v2', network: 'none', warning: null } }) });
    assert.match(boxed.tooltip, /Agents run sandboxed \(network: none, limits: cgroup-v2\)/);
    assert.equal(boxed.severity, 'normal');
    const open = describeHealth({ kind: 'ok', health: health({ sandbox: { enabled: false, limits: 'none', network: 'open', warning: 'KIRO_SANDBOX=off: agents run unconfined' } }) });
    assert.match(open.tooltip, /⚠ KIRO_SANDBOX=off: agents run unconfined/);
    assert.equal(open.severity, 'warning', 'an unconfined worker shows in the warning colour');
  });

  it('gets the GitHub token from the session, a stored token, or reports a missing provider', async function () {
    const session = { accessToken: 'gho_s', account: { label: 'alice' } };
    assert.deepEqual(await resolveGitHubToken({ getSession: async () => session, storedToken: async () => undefined }, false), { kind: 'token', token: 'gho_s', source: 'session', account: 'alice' });
    assert.deepEqual(await resolveGitHubToken({ getSession: async () => session, storedToken: async () => 'ghp_pasted' }, false), { kind: 'token', token: 'ghp_pasted', source: 'stored' });
    assert.deepEqual(await resolveGitHubToken({ getSession: () => new Promise(() => undefined), storedToken: async () => undefined, timeoutMs: 20 }, true), { kind: 'none', reason: 'no-provider' });
    assert.deepEqual(await resolveGitHubToken({ getSession: async () => undefined, storedToken: async () => undefined }, false), { kind: 'none', reason: 'not-signed-in' });
    assert.deepEqual(await resolveGitHubToken({ getSession: async () => { throw new Error('User did not consent / Cancelled'); }, storedToken: async () => undefined }, true), { kind: 'none', reason: 'cancelled' });
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
    assert.deepEqual(await resolveGitHubToken({ getSession, storedToken: async () => undefined, signInAvailable: false }, true), { kind: 'none', reason: 'no-provider' });
    assert.equal(asked, 0, 'no sign-in prompt (VS Code\'s modal) where it cannot succeed');
    assert.deepEqual(await resolveGitHubToken({ getSession, storedToken: async () => 'ghp_pasted', signInAvailable: false }, true), { kind: 'token', token: 'ghp_pasted', source: 'stored' });
  });

  it('validates the form and names each bad field', function () {
    const values: FormValues = { ...emptyValues(), owner: 'octo', repo: 'app', baseBranch: 'main', title: 'Add login', objective: 'Sign in', constraints: '- no deps\n\n* small', acceptanceCriteria: '- [ ] works\n1. tested' };
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
    const values: FormValues = { ...emptyValues(), owner: 'octo', repo: 'app', baseBranch: 'main', title: 'Add login', objective: 'Sign in' };
    const key = (v: FormValues) => {
      const r = validateForm(v);
      assert.ok(r.ok);
      return r.ok ? submissionKey(r.value) : '';
    };
    assert.equal(key(values), key({ ...values, owner: 'Octo', repo: 'APP', title: ' Add login ', prTitle: 'Other PR title', constraints: 'x' }), 'case of names, spaces, PR title and lists do not matter');
    for (const change of [{ baseBranch: 'dev' }, { title: 'Add logout' }, { objective: 'Sign out' }, { repo: 'web' }, { owner: 'other' }]) {
      assert.notEqual(key(values), key({ ...values, ...change }), JSON.stringify(change));
    }
  });

  it('accepts only well-formed messages from the webview', function () {
    const values = emptyValues();
    assert.deepEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseFromWebview({ type: 'submit', requestId: 1, values }), { type: 'submit', requestId: 1, values });
    for (const bad of [null, 'ready', { type: 'submit', values }, { type: 'submit', requestId: 1, values: { owner: 1 } }, { type: 'openExternal', url: 'javascript:alert(1)' }, { type: 'eval', code: 'x' }]) {
      assert.equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
    }
    assert.deepEqual(parseFromWebview({ type: 'openExternal', url: 'https://github.com/x' }), { type: 'openExternal', url: 'https://github.com/x' });
  });
});
