// The stand-in's web pages, where a PR's html_url (and the extension's Open PR and
// View Changes) lead: the conversation, the diff, a file on a branch; all escaped.
import assert from 'node:assert/strict';
import { Octokit } from '@octokit/rest';
import { GitHubStandIn } from '../support/github/server.js';
import type { PullRequest, Repo } from '../support/github/model.js';

describe('GitHub stand-in web pages', function () {
  this.timeout(30_000);
  let gh: GitHubStandIn;
  let repo: Repo;
  let pr: PullRequest;
  const hostile = 'Fix <script>alert("x")</script> & "quotes"';

  before(async function () {
    gh = await GitHubStandIn.start();
    const alice = gh.addUser('alice');
    repo = await gh.createRepo('alice', 'app', {
      files: [{ path: 'src/login.ts', contents: 'export const a = 1;\nexport const b = 2;\n' }],
    });
    const base = (await repo.bare.resolve('refs/heads/main')) ?? '';
    const task = await repo.bare.commit({
      parent: base,
      additions: [{ path: 'TASK.md', contents: '# Check the <password>\n' }],
      message: 'task: Check the password',
      author: { name: 'alice', email: 'a@x' },
    });
    const feat = await repo.bare.commit({
      parent: task,
      additions: [{ path: 'src/login.ts', contents: 'export const a = 1;\nexport const b = 3;\n' }],
      message: 'feat: <b>bold</b> change',
      author: { name: 'Kiro Agent', email: 'k@x' },
    });
    await repo.bare.updateRef('refs/heads/kiro/check-1', feat, '');
    // Opened through the REST API, as GitHub users do: html_url must be the page below.
    const octokit = new Octokit({ baseUrl: gh.apiUrl, auth: alice.token });
    const created = await octokit.rest.pulls.create({
      owner: 'alice',
      repo: 'app',
      title: hostile,
      head: 'kiro/check-1',
      base: 'main',
      body: 'See https://example.com/task and <i>this</i>.',
    });
    assert.equal(created.data.html_url, `${gh.webUrl}/alice/app/pull/${created.data.number}`);
    pr = repo.pulls.find((p) => p.number === created.data.number) as PullRequest;
    repo.comments.push({
      id: 1,
      issueNumber: pr.number,
      body: 'Job finished: <ok>',
      author: 'kiro-bot',
      createdAt: new Date().toISOString(),
    });
  });
  after(async () => gh.close());

  const get = async (path: string) => {
    const res = await fetch(`${gh.webUrl}${path}`);
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      csp: res.headers.get('content-security-policy') ?? '',
      text: await res.text(),
    };
  };

  it("shows a PR: escaped title, state, head → base, the head branch's commits, the body and the comments, and links to the diff", async function () {
    const page = await get(`/alice/app/pull/${pr.number}`);
    assert.equal(page.status, 200);
    assert.match(page.type, /^text\/html/);
    assert.match(page.csp, /default-src 'none'/, 'no script, no external asset');
    assert.ok(page.text.includes('Fix &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;'), 'the title is escaped');
    assert.ok(!page.text.includes('<script'), 'no markup from user text');
    assert.match(page.text, /class="state open">Open</);
    assert.match(page.text, /into <span class="branch">main<\/span> from <span class="branch">kiro\/check-1<\/span>/);
    assert.match(page.text, /task: Check the password/);
    assert.match(page.text, /feat: &lt;b&gt;bold&lt;\/b&gt; change <span class="muted">· Kiro Agent/);
    assert.match(page.text, /wants to merge 2 commits/);
    assert.match(page.text, /<a href="https:\/\/example\.com\/task">https:\/\/example\.com\/task<\/a> and &lt;i&gt;this&lt;\/i&gt;/);
    assert.match(page.text, /Job finished: &lt;ok&gt;/);
    assert.ok(page.text.includes(`href="/alice/app/pull/${pr.number}/files"`));
  });

  it('shows the diff of head against base (git diff base...head) with added and removed lines marked, and links back', async function () {
    const page = await get(`/alice/app/pull/${pr.number}/files`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<span class="del">-export const b = 2;<\/span>/);
    assert.match(page.text, /<span class="add">\+export const b = 3;<\/span>/);
    assert.match(page.text, /<span class="add">\+# Check the &lt;password&gt;<\/span>/);
    assert.match(page.text, /<span class="file">diff --git a\/TASK\.md b\/TASK\.md<\/span>/);
    assert.ok(page.text.includes(`href="/alice/app/pull/${pr.number}"`));
  });

  it('shows draft, closed and merged states, a file on a branch with slashes, and 404 for what does not exist', async function () {
    pr.draft = true;
    assert.match((await get(`/alice/app/pull/${pr.number}`)).text, /class="state draft">Draft</);
    pr.state = 'closed';
    assert.match((await get(`/alice/app/pull/${pr.number}`)).text, /class="state closed">Closed</);
    pr.merged = true;
    assert.match((await get(`/alice/app/pull/${pr.number}`)).text, /class="state merged">Merged</);
    Object.assign(pr, { draft: false, state: 'open', merged: false });
    const blob = await get('/alice/app/blob/kiro/check-1/TASK.md');
    assert.equal(blob.status, 200);
    assert.match(blob.text, /# Check the &lt;password&gt;/);
    assert.equal((await get('/alice/app/blob/kiro/check-1/NOPE.md')).status, 404);
    assert.equal((await get('/alice/app/pull/999')).status, 404);
    assert.equal((await get('/alice/nope/pull/1')).status, 404);
    assert.equal(gh.count((r) => r.kind === 'web') >= 9, true, 'logged as web requests');
  });
});
