// The @kiro participant's and the language-model tools' plain logic (extension/chat/chatText.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  chatCommand,
  chatFormValues,
  delegateToolForm,
  delegateToolResult,
  draftFromText,
  findByPr,
  parseFollowUp,
  statusEntries,
  statusRecords,
  taskSummary,
} from '../../../extension/chat/chatText.js';
import type { Delegation } from '../../../extension/delegations/model.js';
import { validateForm } from '../../../extension/form/validation.js';

const WS = { owner: 'alice', repo: 'app', baseBranch: 'main' };

function delegation(over: Partial<Delegation> = {}): Delegation {
  return {
    id: 'K-1',
    owner: 'alice',
    repo: 'app',
    branch: 'kiro/add-login-1',
    baseBranch: 'main',
    prNumber: 12,
    prUrl: 'https://github.com/alice/app/pull/12',
    title: 'Add login',
    taskCommitOid: 'abc',
    state: 'running',
    jobId: 'job-1',
    job: {
      owner: 'alice',
      repo: 'app',
      branch: 'kiro/add-login-1',
      prNumber: 12,
      baseBranch: 'main',
      title: 'Add login',
      taskDescription: '#',
      idempotencyKey: 'K-1',
    },
    createdAt: 1,
    updatedAt: 1,
    ...over,
  };
}

describe('chat: commands and follow-ups', function () {
  it('reads /status and /followup, and anything else (plain text too) as /delegate', function () {
    assert.equal(chatCommand('status'), 'status');
    assert.equal(chatCommand('followup'), 'followup');
    assert.equal(chatCommand('delegate'), 'delegate');
    assert.equal(chatCommand(undefined), 'delegate');
    assert.equal(chatCommand('bogus'), 'delegate');
  });

  it('parses "/followup 12 do x" (and #12, a colon), and says what is missing', function () {
    assert.deepEqual(parseFollowUp('12 also handle an empty password'), {
      ok: true,
      prNumber: 12,
      instructions: 'also handle an empty password',
    });
    assert.deepEqual(parseFollowUp('  #7: add a test\nand docs '), { ok: true, prNumber: 7, instructions: 'add a test\nand docs' });
    const noNumber = parseFollowUp('add a test');
    assert.equal(noNumber.ok, false);
    assert.match(noNumber.ok ? '' : noNumber.message, /PR number/);
    const noText = parseFollowUp('12');
    assert.equal(noText.ok, false);
    assert.match(noText.ok ? '' : noText.message, /PR #12/);
    assert.equal(parseFollowUp('12abc do').ok, false);
  });

  it("finds the delegation on a PR number, preferring the workspace's repository", function () {
    const other = delegation({ id: 'K-2', owner: 'bob', repo: 'lib', createdAt: 2 });
    const mine = delegation();
    assert.equal(findByPr([other, mine], 12, WS)?.id, 'K-1');
    assert.equal(findByPr([other, mine], 12)?.id, 'K-2');
    assert.equal(findByPr([mine], 13, WS), undefined);
  });
});

describe('chat: /delegate', function () {
  it('drafts the title from the first line (cut at a word) and keeps the whole text as the objective', function () {
    assert.deepEqual(draftFromText(' Add a login form.\nWith e-mail validation. '), {
      title: 'Add a login form',
      objective: 'Add a login form.\nWith e-mail validation.',
    });
    const long = draftFromText(
      'Refactor the session handling so that every request carries its own scoped token and never shares it with another',
    );
    assert.ok(long.title.length <= 80 && long.title.endsWith('…'), long.title);
    assert.ok(!long.title.includes('  '));
  });

  it('prefills the form from the chat text and the workspace: valid with both, not with an empty text or no repository', function () {
    assert.equal(validateForm(chatFormValues('Add a login form', WS)).ok, true);
    assert.equal(validateForm(chatFormValues('', WS)).ok, false);
    assert.equal(validateForm(chatFormValues('Add a login form', { owner: '', repo: '', baseBranch: 'main' })).ok, false);
  });

  it('shows the task to confirm with outside text escaped', function () {
    const v = delegateToolForm({ title: 'Fix *bold* [x](javascript:1)', objective: 'Do it', acceptanceCriteria: ['tests pass'] }, WS);
    assert.ok(v.ok);
    const md = taskSummary(v.value);
    assert.match(md, /`alice\/app` from `main`/);
    assert.match(md, /- tests pass/);
    assert.doesNotMatch(md, /\[x\]\(javascript/);
  });
});

describe('chat: /status and kiro_status', function () {
  it('lists each delegation with its PR link, state and the actions that apply', function () {
    const [running, pushed, closed] = statusEntries([
      delegation(),
      delegation({ id: 'K-3', state: 'pushed', prNumber: 13 }),
      delegation({ id: 'K-4', state: 'closed', jobId: undefined }),
    ]);
    assert.match(running!.markdown, /^\[PR #12\]\(https:\/\/github\.com\/alice\/app\/pull\/12\) \*\*Add login\*\* · alice\/app · running$/);
    assert.deepEqual(
      running!.buttons.map((b) => b.command),
      ['kiroDelegate.showAgentOutput', 'kiroDelegate.cancelJob', 'kiroDelegate.sendFollowUp'],
    );
    assert.deepEqual(running!.buttons[0]!.arg, { id: 'K-1' });
    assert.deepEqual(
      pushed!.buttons.map((b) => b.title),
      ['Show Agent Output', 'Send Follow-up'],
    );
    assert.deepEqual(closed!.buttons, []);
  });

  it('gives the calling agent plain records', function () {
    assert.deepEqual(statusRecords([delegation({ round: 2 })]), [
      {
        prNumber: 12,
        prUrl: 'https://github.com/alice/app/pull/12',
        repository: 'alice/app',
        branch: 'kiro/add-login-1',
        title: 'Add login',
        state: 'running',
        description: 'round 2 · running',
        jobId: 'job-1',
        round: 2,
      },
    ]);
  });
});

describe('kiro_delegate: input and result', function () {
  it("takes the workspace's repository and base branch unless given, and lists as arrays or lines", function () {
    const a = delegateToolForm({ title: 'T', objective: 'O', constraints: ['no deps', 3], acceptanceCriteria: '- one\n- two' }, WS);
    assert.ok(a.ok);
    assert.deepEqual(
      [a.value.owner, a.value.repo, a.value.baseBranch, a.value.constraints, a.value.acceptanceCriteria],
      ['alice', 'app', 'main', ['no deps'], ['one', 'two']],
    );
    const b = delegateToolForm({ title: 'T', objective: 'O', repository: 'bob/lib', baseBranch: 'dev' }, WS);
    assert.ok(b.ok);
    assert.deepEqual([b.value.owner, b.value.repo, b.value.baseBranch], ['bob', 'lib', 'dev']);
  });

  it("refuses with the form's reasons: no title, a bad repository, no repository at all", function () {
    const noTitle = delegateToolForm({ objective: 'O' }, WS);
    assert.ok(!noTitle.ok && /title: Give the task a title/.test(noTitle.message));
    const bad = delegateToolForm({ title: 'T', objective: 'O', repository: 'bob' }, WS);
    assert.ok(!bad.ok && /repository: Repository is required/.test(bad.message));
    const none = delegateToolForm({ title: 'T', objective: 'O' }, { owner: '', repo: '', baseBranch: 'main' });
    assert.ok(!none.ok && /repository/.test(none.message));
    assert.equal(delegateToolForm({ title: 7, objective: 'O' }, WS).ok, false);
  });

  it('answers with the PR, branch, job id and state', function () {
    const r = delegateToolResult(
      { prUrl: 'https://github.com/alice/app/pull/12', number: 12, branchName: 'kiro/t-1', confirmationCode: 'K-1' },
      { owner: 'alice', repo: 'app', baseBranch: 'main', state: 'queued', jobId: 'job-9' },
    );
    assert.deepEqual(r, {
      prUrl: 'https://github.com/alice/app/pull/12',
      prNumber: 12,
      branch: 'kiro/t-1',
      repository: 'alice/app',
      baseBranch: 'main',
      confirmationCode: 'K-1',
      state: 'queued',
      jobId: 'job-9',
    });
  });

  it('matches package.json: the three tools with schemas, the participant and its commands', function () {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      contributes: {
        languageModelTools: {
          name: string;
          inputSchema: { properties: object };
          modelDescription: string;
          toolReferenceName: string;
          canBeReferencedInPrompt: boolean;
        }[];
        chatParticipants: { id: string; name: string; commands: { name: string }[] }[];
      };
    };
    const tools = pkg.contributes.languageModelTools;
    assert.deepEqual(
      tools.map((t) => t.name),
      ['kiro_delegate', 'kiro_status', 'kiro_follow_up'],
    );
    assert.ok(tools.every((t) => t.modelDescription && t.toolReferenceName && t.canBeReferencedInPrompt && t.inputSchema));
    assert.deepEqual(Object.keys(tools[0]!.inputSchema.properties), [
      'title',
      'objective',
      'constraints',
      'acceptanceCriteria',
      'repository',
      'baseBranch',
    ]);
    const [p] = pkg.contributes.chatParticipants;
    assert.deepEqual([p?.id, p?.name, p?.commands.map((c) => c.name)], ['kiroDelegate.kiro', 'kiro', ['delegate', 'status', 'followup']]);
  });
});
