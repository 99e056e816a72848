// Comments on the job's pull request when a job ends: a summary of what the agent
// pushed, or why it could not deliver (so a PR never silently stays with only
// TASK.md), or that it was cancelled. Optional: needs the job's GitHub credential
// (a GitHub App token or KIRO_GITHUB_TOKEN), given per call. Each says what the agent
// reported spending, or that it reports nothing.
import { Octokit } from '@octokit/core';
import type { FileChange } from '../../shared/protocol.js';
import { formatUsage } from '../agent/usage.js';
import { blockedNote } from './blockedNote.js';
import type { Job } from '../jobs/job.js';
import { formatDuration } from '../../shared/duration.js';
import { escapeMarkdownInline } from '../../shared/markdown.js';
import { openInVsCodeUrl } from './jobLink.js';

export type Commenter = (job: Job, token: string | undefined) => Promise<void>;

/** The states a job's PR hears about; every final state but none. */
const HEADLINE: Partial<Record<Job['state'], string>> = {
  succeeded: 'Kiro pushed its changes',
  failed: 'Kiro could not complete this task',
  'timed-out': 'Kiro ran out of time on this task',
  'no-changes': 'Kiro finished without changing any file',
  cancelled: "Kiro's job on this task was cancelled",
};

/** How many lines of the agent's output a comment quotes. */
const TAIL_LINES = 20;
/** How many files the summary lists; the totals count them all. */
const LISTED_FILES = 50;

/** Text with no run of three backticks (which could close a fence) and no control characters (a path may hold any). */
function fenceSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?').replace(/`{3,}/g, '``');
}

/** One line of text, fence-safe (a file name may hold a newline). */
function lineSafe(text: string): string {
  return fenceSafe(text.replace(/\n/g, '?'));
}

function outputDetails(job: Job): string {
  const tail = fenceSafe(job.outputTail.slice(-TAIL_LINES).join('\n'));
  return tail ? `<details><summary>Last lines of the agent's output</summary>\n\n\`\`\`\n${tail}\n\`\`\`\n</details>` : '';
}

/** Blank lines never repeat: a missing part leaves no gap. */
function join(lines: string[]): string {
  return lines
    .filter((l, i, a) => !(l === '' && a[i - 1] === ''))
    .join('\n')
    .trim();
}

/** "42 s", "3 min 5 s", "1 h 2 min". */
export { formatDuration } from '../../shared/duration.js';

/** One line of a `git diff --stat`-like listing: path, count, and a bar of + and - no wider than `width`. */
function statLine(f: FileChange, pathWidth: number, countWidth: number, scale: number): string {
  const name = f.from !== undefined ? `${f.from} => ${f.path}` : f.path;
  if (f.binary) return ` ${name.padEnd(pathWidth)} | ${'Bin'.padStart(countWidth)}`;
  const plus = Math.round(f.added * scale) || (f.added > 0 ? 1 : 0);
  const minus = Math.round(f.removed * scale) || (f.removed > 0 ? 1 : 0);
  return ` ${name.padEnd(pathWidth)} | ${String(f.added + f.removed).padStart(countWidth)} ${'+'.repeat(plus)}${'-'.repeat(minus)}`.trimEnd();
}

/** The diffstat of a job's push, as `git diff --stat` prints it (paths made safe for a fence). */
export function renderDiffStat(changes: NonNullable<Job['changes']>): string {
  const files = changes.files
    .slice(0, LISTED_FILES)
    .map((f) => ({ ...f, path: lineSafe(f.path), ...(f.from !== undefined ? { from: lineSafe(f.from) } : {}) }));
  const names = files.map((f) => (f.from !== undefined ? `${f.from} => ${f.path}` : f.path));
  const pathWidth = Math.min(60, Math.max(0, ...names.map((n) => n.length)));
  const countWidth = Math.max(3, ...files.map((f) => String(f.added + f.removed).length));
  const biggest = Math.max(0, ...files.map((f) => f.added + f.removed));
  const scale = biggest > 40 ? 40 / biggest : 1;
  const lines = files.map((f) => statLine(f, pathWidth, countWidth, scale));
  const more = changes.filesChanged - files.length;
  if (more > 0) lines.push(` … and ${more} more file${more === 1 ? '' : 's'}`);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    ` ${plural(changes.filesChanged, 'file')} changed, ${plural(changes.added, 'insertion')}(+), ${plural(changes.removed, 'deletion')}(-)`,
  );
  return lines.join('\n');
}

/**
 * "Usage: 12,345 input / 2,345 output tokens · $0.04", or that the agent reported none;
 * nothing for a job whose agent never ran (it had nothing to report).
 */
export function usageLine(job: Job): string {
  if (job.usage) return `Usage: ${formatUsage(job.usage)}`;
  const ran = job.exitCode !== null || job.signal !== null;
  return ran ? 'Usage: not reported by this agent' : '';
}

/** The longest agent summary a comment quotes. */
const SUMMARY_CHARS = 4000;

/**
 * The agent's final message as a quote: its Markdown kept, but no @mention that would
 * notify someone, and no HTML that could open a block the rest of the comment falls into.
 */
export function quoteSummary(summary: string): string {
  const text = summary.length > SUMMARY_CHARS ? `${summary.slice(0, SUMMARY_CHARS - 1)}…` : summary;
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .replace(/</g, '&lt;')
    .replace(/@(?=[A-Za-z0-9])/g, '@\u200b')
    .trim()
    .split('\n')
    .map((l) => `> ${l}`.trimEnd())
    .join('\n');
}

/** Where the team opens the agent's terminal in VS Code (the extension's job link). */
function terminalLink(job: Job): string {
  return `[Open the agent's terminal in VS Code](${openInVsCodeUrl(job.id)})`;
}

/** The comment after a successful push: the commit, how long it took, what the agent said it did, the files it changed, its last lines. */
export function summaryBody(job: Job): string {
  const ms = job.startedAt && job.finishedAt ? Date.parse(job.finishedAt) - Date.parse(job.startedAt) : null;
  const commit = job.commitSha ? `Pushed \`${job.commitSha.slice(0, 12)}\` to \`${lineSafe(job.request.branch)}\`` : 'Pushed';
  const took = ms !== null && Number.isFinite(ms) ? ` after ${formatDuration(ms)}` : '';
  const stat = job.changes && job.changes.filesChanged > 0 ? `\`\`\`\n${renderDiffStat(job.changes)}\n\`\`\`` : '';
  const said = job.summary?.trim() ? quoteSummary(job.summary) : '';
  return join([
    `### ${HEADLINE.succeeded}`,
    '',
    `${commit}${took} (job \`${job.id}\`, attempt ${job.attempts}).`,
    '',
    said,
    '',
    stat,
    '',
    usageLine(job),
    '',
    blockedNote(job),
    '',
    terminalLink(job),
    '',
    outputDetails(job),
  ]);
}

/** The comment when a job ended without a push: why, and the agent's last lines if it ran. */
export function commentBody(job: Job): string {
  if (job.state === 'succeeded') return summaryBody(job);
  const budget = job.state === 'failed' && job.error?.code === 'BUDGET_EXCEEDED';
  const headline = budget ? "Kiro's token budget stopped this task" : (HEADLINE[job.state] ?? `Kiro job ended: ${job.state}`);
  // An error's words may quote the agent or git: shown as text, never as a mention, a link or an image.
  const message = escapeMarkdownInline(job.error?.message ?? '');
  const code = /^[A-Z][A-Z0-9_]{0,63}$/.test(job.error?.code ?? '')
    ? `\`${job.error?.code}\``
    : escapeMarkdownInline(job.error?.code ?? '');
  const reason =
    job.state === 'cancelled'
      ? `The job was cancelled from VS Code or the worker API${job.error ? ` (${message})` : ''}. Nothing was pushed.`
      : budget
        ? `The job's token budget stopped it: ${message} (\`BUDGET_EXCEEDED\`). Nothing was pushed.`
        : job.error
          ? `**Reason:** ${message} (${code})`
          : '';
  const which = job.attempts > 0 ? `Job \`${job.id}\`, attempt ${job.attempts}.` : `Job \`${job.id}\`; it had not started.`;
  return join([
    `### ${headline}`,
    '',
    reason,
    '',
    which,
    '',
    usageLine(job),
    '',
    blockedNote(job),
    '',
    job.attempts > 0 ? terminalLink(job) : '',
    '',
    outputDetails(job),
  ]);
}

export function githubCommenter(apiUrl: string): Commenter {
  return async (job, token) => {
    if (!HEADLINE[job.state] || !token) return;
    const octokit = new Octokit({ baseUrl: apiUrl, auth: token, userAgent: 'kiro-delegate-worker' });
    await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      owner: job.request.owner,
      repo: job.request.repo,
      issue_number: job.request.prNumber,
      body: commentBody(job),
      // The job's token is revoked only once this is done, so it may not wait on GitHub indefinitely.
      request: { signal: AbortSignal.timeout(30_000) },
    });
  };
}
