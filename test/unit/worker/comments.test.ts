// The PR comments a job leaves: the summary after a push (diffstat, duration, the
// agent's last lines), the cancel notice, and the numstat parsing behind the summary.
// Pure functions, no GitHub.
import assert from 'node:assert/strict';
import { commentBody, formatDuration, quoteSummary, renderDiffStat, summaryBody } from '../../../worker-service/github/comments.js';
import { parseNumstat } from '../../../worker-service/git/numstat.js';
import type { Job } from '../../../worker-service/jobs/job.js';

function job(over: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    scopeKey: 'x',
    state: 'succeeded',
    attempts: 1,
    slotId: 0,
    request: {
      owner: 'alice',
      repo: 'app',
      branch: 'kiro/add-login-1',
      prNumber: 7,
      baseBranch: 'main',
      title: 'Add login',
      taskDescription: '# Add login\n',
      idempotencyKey: 'PR1',
    },
    createdAt: '2025-01-01T10:00:00.000Z',
    startedAt: '2025-01-01T10:00:00.000Z',
    finishedAt: '2025-01-01T10:03:05.000Z',
    exitCode: 0,
    signal: null,
    commitSha: '0123456789abcdef0123456789abcdef01234567',
    error: null,
    outputTail: ['> Wrote src/login.ts', 'Done.'],
    changes: {
      files: [
        { path: 'src/login.ts', added: 40, removed: 2 },
        { path: 'logo.png', added: 0, removed: 0, binary: true },
        { path: 'docs/new.md', from: 'docs/old.md', added: 1, removed: 1 },
      ],
      filesChanged: 3,
      added: 41,
      removed: 3,
    },
    ...over,
  };
}

/** The code blocks of a Markdown text, and whether every fence that opens also closes. */
function fences(md: string): { blocks: string[]; balanced: boolean } {
  const blocks: string[] = [];
  let open: string[] | null = null;
  for (const line of md.split('\n')) {
    if (/^```/.test(line)) {
      if (open) {
        blocks.push(open.join('\n'));
        open = null;
      } else open = [];
    } else open?.push(line);
  }
  return { blocks, balanced: open === null };
}

describe('PR comments', function () {
  describe('summary after a push', function () {
    it('names the commit, the duration and the job, and lists the files with a diffstat and the totals', function () {
      const body = summaryBody(job());
      assert.match(body, /^### Kiro pushed its changes$/m);
      assert.match(body, /Pushed `0123456789ab` to `kiro\/add-login-1` after 3 min 5 s \(job `job-1`, attempt 1\)\./);
      assert.match(
        body,
        /^\[Open the agent's terminal in VS Code\]\(https:\/\/vscode\.dev\/redirect\?url=vscode%3A%2F%2Fkiro-delegate\.kiro-delegate%2Fjob%2Fjob-1\)$/m,
        'the summary links to the job in VS Code',
      );
      const { blocks, balanced } = fences(body);
      assert.ok(balanced);
      const [stat, tail] = blocks;
      assert.deepEqual(stat?.split('\n'), [
        ` src/login.ts               |  42 ${'+'.repeat(38)}--`,
        ' logo.png                   | Bin',
        ' docs/old.md => docs/new.md |   2 +-',
        ' 3 files changed, 41 insertions(+), 3 deletions(-)',
      ]);
      assert.equal(tail, '> Wrote src/login.ts\nDone.');
      assert.match(body, /<details><summary>Last lines of the agent's output<\/summary>/);
    });

    it('is the comment commentBody makes for a succeeded job', function () {
      assert.equal(commentBody(job()), summaryBody(job()));
    });

    it('keeps a hostile path or output line inside its fence: no closing backticks, no raw control characters', function () {
      const body = summaryBody(
        job({
          changes: {
            files: [{ path: 'evil```\n## injected\n<img src=x>.md', added: 1, removed: 0 }],
            filesChanged: 1,
            added: 1,
            removed: 0,
          },
          outputTail: ['```', '@everyone look', '\u001b]8;;http://x\u0007link'],
        }),
      );
      const { blocks, balanced } = fences(body);
      assert.ok(balanced);
      assert.equal(blocks.length, 2, body);
      assert.doesNotMatch(body, /^## injected/m, 'a path cannot start a heading');
      assert.doesNotMatch(body, /[\u0000-\u0008\u000b-\u001f\u007f]/);
      assert.ok(blocks[1]?.includes('@everyone look'), 'a mention stays in the code block, where GitHub does not notify');
    });

    it('caps the listing at 50 files and says how many more; scales the bar to 40 columns', function () {
      const files = Array.from({ length: 100 }, (_, i) => ({ path: `f${i}.txt`, added: i === 0 ? 1000 : 1, removed: 0 }));
      const stat = renderDiffStat({ files, filesChanged: 120, added: 1119, removed: 0 }).split('\n');
      assert.equal(stat.length, 52);
      assert.equal(stat[50], ' … and 70 more files');
      assert.equal(stat[51], ' 120 files changed, 1119 insertions(+), 0 deletions(-)');
      assert.equal(/\+*$/.exec(stat[0] ?? '')?.[0].length, 40);
      assert.match(stat[1] ?? '', / 1 \+$/, 'a small change still shows one mark');
    });

    it('leaves the diffstat out when the changes are unknown, and the tail when there is none', function () {
      const body = summaryBody(job({ changes: null, outputTail: [] }));
      assert.equal(fences(body).blocks.length, 0);
      assert.doesNotMatch(body, /<details>/);
      assert.doesNotMatch(body, /\n\n\n/);
    });

    it("quotes the agent's final message after the commit line, before the diffstat; nothing when it said none", function () {
      const body = summaryBody(job({ summary: 'Added the login form.\n\n- `src/login.ts`: the form\n- tests pass' }));
      const lines = body.split('\n');
      const at = lines.indexOf('> Added the login form.');
      assert.ok(at > lines.findIndex((l) => l.startsWith('Pushed `0123456789ab`')), body);
      assert.deepEqual(lines.slice(at, at + 4), ['> Added the login form.', '>', '> - `src/login.ts`: the form', '> - tests pass']);
      assert.ok(at < lines.indexOf('```'), 'before the diffstat');
      assert.equal(summaryBody(job({ summary: null, outputTail: [] })).includes('\n>'), false);
      assert.equal(summaryBody(job({ summary: '  ', outputTail: [] })).includes('\n>'), false);
    });

    it("an agent's summary mentions nobody and cannot open HTML the rest of the comment would fall into", function () {
      const body = summaryBody(job({ summary: 'Thanks @octocat and @org/team!\n<details><summary>x</summary>\u0007' }));
      assert.ok(body.includes('> Thanks @\u200boctocat and @\u200borg/team!'));
      assert.ok(body.includes('> &lt;details>&lt;summary>x&lt;/summary>'));
      assert.equal(/\u0007/.test(body), false);
      assert.equal(quoteSummary('y'.repeat(5000)).length, 2 + 4000);
    });

    it('formats durations', function () {
      assert.deepEqual([0, 999, 42_000, 60_000, 185_000, 3_600_000, 3_720_000].map(formatDuration), [
        '0 s',
        '1 s',
        '42 s',
        '1 min',
        '3 min 5 s',
        '1 h',
        '1 h 2 min',
      ]);
    });
  });

  describe('cancel notice', function () {
    it('says the job was cancelled from VS Code or the worker API, with its id and the last lines', function () {
      const body = commentBody(
        job({
          state: 'cancelled',
          commitSha: null,
          changes: null,
          error: { code: 'CANCELLED', message: 'cancelled while the agent was running' },
          outputTail: ['thinking forever'],
        }),
      );
      assert.match(body, /^### Kiro's job on this task was cancelled$/m);
      assert.match(body, /cancelled from VS Code or the worker API \(cancelled while the agent was running\)\. Nothing was pushed\./);
      assert.match(body, /Job `job-1`, attempt 1\./);
      assert.deepEqual(fences(body).blocks, ['thinking forever']);
    });

    it('for a job cancelled in the queue: no attempt, no output', function () {
      const body = commentBody(
        job({
          state: 'cancelled',
          attempts: 0,
          startedAt: null,
          commitSha: null,
          changes: null,
          error: { code: 'CANCELLED', message: 'cancelled before it started' },
          outputTail: [],
        }),
      );
      assert.match(body, /Job `job-1`; it had not started\./);
      assert.doesNotMatch(body, /<details>/);
    });

    it('leaves the failure comment as it was', function () {
      const body = commentBody(
        job({
          state: 'failed',
          commitSha: null,
          changes: null,
          exitCode: 3,
          error: { code: 'AGENT_FAILED', message: 'the agent exited with code 3' },
          outputTail: ['error: ```refused```'],
        }),
      );
      assert.match(
        body,
        /^### Kiro could not complete this task\n\n\*\*Reason:\*\* the agent exited with code 3 \(`AGENT_FAILED`\)\n\nJob `job-1`, attempt 1\./,
      );
      assert.deepEqual(fences(body).blocks, ['error: ``refused``']);
    });
  });

  describe('numstat parsing', function () {
    it('reads counts, binary files and renames from `git diff --numstat -z`', function () {
      const out =
        '3\t0\tkiro/IMPLEMENTATION.md\0-\t-\tlogo.png\0' + '1\t1\t\0docs/old.md\0docs/new.md\0' + '2\t5\tpath with\ttab and\nnewline\0';
      assert.deepEqual(parseNumstat(out), {
        files: [
          { path: 'kiro/IMPLEMENTATION.md', added: 3, removed: 0 },
          { path: 'logo.png', added: 0, removed: 0, binary: true },
          { path: 'docs/new.md', from: 'docs/old.md', added: 1, removed: 1 },
          { path: 'path with\ttab and\nnewline', added: 2, removed: 5 },
        ],
        filesChanged: 4,
        added: 6,
        removed: 6,
      });
      assert.deepEqual(parseNumstat(''), { files: [], filesChanged: 0, added: 0, removed: 0 });
    });

    it('counts every file but lists the first 100', function () {
      const out = Array.from({ length: 150 }, (_, i) => `1\t2\tf${i}\0`).join('');
      const c = parseNumstat(out);
      assert.equal(c.files.length, 100);
      assert.deepEqual([c.filesChanged, c.added, c.removed], [150, 150, 300]);
    });
  });

  it("an error's words (which may quote the agent or git) reach the comment as text: no mention, link, image or HTML", function () {
    const hostile =
      'the agent exited with code 1: @acme/security ![x](https://evil.example/p.png) [login](https://evil.example) <img src=x>\n## fake heading';
    for (const state of ['failed', 'cancelled'] as const) {
      const body = commentBody(
        job({ state, commitSha: null, changes: null, error: { code: 'AGENT_FAILED', message: hostile }, outputTail: [] }),
      );
      const reason = body.split('\n').find((l) => l.includes('code 1')) ?? '';
      assert.doesNotMatch(reason, /@acme/, `${state}: a mention`);
      assert.doesNotMatch(reason, /(?<!\\)[![\]]|<img|https:\/\//, `${state}: a link, an image or HTML: ${reason}`);
      assert.doesNotMatch(body, /\n## fake heading/, `${state}: a heading of its own`);
    }
  });
});
