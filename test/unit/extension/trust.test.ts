// Where a credential may go (auth/trust.ts): the worker and Enterprise URLs come from
// the user's settings only, never a workspace's; plain HTTP carries a token only to this
// machine or to an origin the user agreed to; the send-problem notification says what
// the worker said and offers only what can help.
import assert from 'node:assert/strict';
import { isLoopbackHost, machineSetting, plainHttpWarning, transportDecision } from '../../../extension/auth/trust.js';
import { problemText, sendProblemView, waitWords } from '../../../extension/delegations/sendProblem.js';

describe('where credentials may go', function () {
  it('reads the worker and Enterprise URLs from user settings only, and reports a workspace value it ignored', function () {
    const fallback = 'http://127.0.0.1:8080';
    assert.deepEqual(machineSetting({ defaultValue: fallback }, fallback), { value: fallback });
    assert.deepEqual(machineSetting({ defaultValue: fallback, globalValue: 'https://kiro.corp' }, fallback), {
      value: 'https://kiro.corp',
    });
    assert.deepEqual(machineSetting({ defaultValue: fallback, workspaceValue: 'https://evil.example' }, fallback), {
      value: fallback,
      ignored: 'https://evil.example',
    });
    assert.deepEqual(
      machineSetting({ defaultValue: fallback, globalValue: 'https://kiro.corp', workspaceFolderValue: 'https://evil.example' }, fallback),
      { value: 'https://kiro.corp', ignored: 'https://evil.example' },
    );
    assert.deepEqual(
      machineSetting({ globalValue: 'https://kiro.corp', workspaceValue: 'https://kiro.corp' }, fallback),
      { value: 'https://kiro.corp' },
      'the same value is not worth a warning',
    );
    assert.deepEqual(machineSetting(undefined, fallback), { value: fallback });
  });

  it('knows loopback: 127.0.0.0/8, ::1 and localhost, however the URL spells them', function () {
    for (const url of [
      'http://127.0.0.1:8080',
      'http://127.1:80',
      'http://127.255.0.9',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::1]:8080',
      'http://localhost:3000',
      'http://LOCALHOST',
    ]) {
      assert.ok(isLoopbackHost(new URL(url).hostname), url);
    }
    for (const url of [
      'http://128.0.0.1',
      'http://10.0.0.1',
      'http://localhost.evil.example',
      'http://127.0.0.1.evil.example',
      'http://[::2]',
      'http://[::ffff:7f00:1]',
      'http://kiro.corp',
    ]) {
      assert.ok(!isLoopbackHost(new URL(url).hostname), url);
    }
  });

  it('sends over https and loopback http; asks for plain http elsewhere, once per exact origin; refuses the rest', function () {
    assert.deepEqual(transportDecision('https://kiro.corp/api', []), { kind: 'send', origin: 'https://kiro.corp' });
    assert.deepEqual(transportDecision('http://127.0.0.1:8080', []), { kind: 'send', origin: 'http://127.0.0.1:8080' });
    assert.deepEqual(transportDecision('http://kiro.lan:8080', []), { kind: 'ask', origin: 'http://kiro.lan:8080' });
    assert.deepEqual(transportDecision('http://kiro.lan:8080/x', ['http://kiro.lan:8080']), {
      kind: 'send',
      origin: 'http://kiro.lan:8080',
    });
    assert.equal(transportDecision('http://kiro.lan:8081', ['http://kiro.lan:8080']).kind, 'ask', 'another port is another origin');
    assert.equal(transportDecision('http://kiro.lan', ['https://kiro.lan']).kind, 'ask', 'agreeing to https says nothing about http');
    assert.equal(transportDecision('ftp://kiro.lan', []).kind, 'refuse');
    assert.equal(transportDecision('not a url', []).kind, 'refuse');
    assert.equal(transportDecision('https://user:pw@kiro.corp', []).kind, 'refuse');
    const w = plainHttpWarning('http://kiro.lan:8080', 'your GitHub token');
    assert.match(w.detail, /not encrypted/);
    assert.match(w.detail, /read your GitHub token and use it as you/);
    assert.match(w.message, /http:\/\/kiro\.lan:8080 over plain HTTP/);
  });
});

describe('a job the worker did not take', function () {
  it("429 QUOTA_EXCEEDED: the worker's words, when to try again, and no Retry button", function () {
    const quota = {
      kind: 'quota' as const,
      code: 'QUOTA_EXCEEDED',
      retryAfterSeconds: 300,
      message: '5 delegations of yours are in flight; the next can start when one ends.',
    };
    const view = sendProblemView(7, quota);
    assert.equal(
      view.message,
      'Kiro: PR #7 was created, but the worker did not start it: 5 delegations of yours are in flight; the next can start when one ends. You can send it again in 5 min with "Retry Sending" on the delegation.',
    );
    assert.deepEqual(view.actions, []);
    assert.doesNotMatch(view.message, /did not reach/);
    assert.equal(problemText(quota), '5 delegations of yours are in flight; the next can start when one ends. (try again in 5 min)');
    assert.match(sendProblemView(7, { ...quota, retryAfterSeconds: undefined }).message, /again once one of your jobs ends/);
    assert.equal(waitWords(45), 'in 45 s');
    assert.equal(waitWords(7200), 'in 2 h');
  });

  it('offers what can help: sign-in for a GitHub refusal, the worker token for a token refusal, Retry only where it can work', function () {
    assert.deepEqual(sendProblemView(1, { kind: 'unauthorized', code: 'GITHUB_TOKEN_REFUSED', message: 'x' }).actions, [
      'Sign in to GitHub',
      'Set GitHub Token',
    ]);
    assert.deepEqual(sendProblemView(1, { kind: 'unauthorized', code: 'NO_GITHUB_TOKEN', message: 'x' }).actions, [
      'Sign in to GitHub',
      'Set GitHub Token',
    ]);
    assert.deepEqual(sendProblemView(1, { kind: 'unauthorized', code: 'UNAUTHORIZED', message: 'x' }).actions, [
      'Set Worker Token',
      'Open Settings',
    ]);
    assert.deepEqual(sendProblemView(1, { kind: 'unauthorized', code: 'INSECURE_TRANSPORT', message: 'x' }).actions, [
      'Retry',
      'Open Settings',
    ]);
    assert.deepEqual(sendProblemView(1, { kind: 'rejected', status: 403, code: 'FORBIDDEN_BRANCH', message: 'no' }).actions, [
      'Open Settings',
    ]);
    assert.deepEqual(sendProblemView(1, { kind: 'unreachable', message: 'down' }).actions, ['Retry', 'Set Worker Token', 'Open Settings']);
    assert.match(sendProblemView(1, { kind: 'unreachable', message: 'down' }).message, /did not reach the worker\. down$/);
  });
});
