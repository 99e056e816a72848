// What a round started on GitHub writes into TASK.md. The users' words are quoted, so that
// only the worker writes a line of its own (a heading, an `Addresses:` line); the agent's
// commit takes one `Addresses: <comment URL>` trailer from each such line of the last round.
import { followUpCount, renderTaskMarkdown } from '../../shared/taskMarkdown.js';
import { quoted, stripHidden } from './sanitize.js';

export interface ReviewComment {
  id: number;
  path: string;
  /** The line the comment is on (the new side), or null for an outdated comment. */
  line: number | null;
  diffHunk: string;
  body: string;
  url: string;
}

/** The instructions of a `/kiro` comment on the pull request, with who asked and where. */
export function commentRound(login: string, url: string, instructions: string): string {
  return [`@${login} asked on GitHub (${url}):`, '', quoted(stripHidden(instructions).trim() || 'Carry on with the task.')].join('\n');
}

function fence(text: string): string {
  let f = '```';
  while (text.includes(f)) f += '`';
  return f;
}

/** One round for a whole review: its body, then every `/kiro` inline comment with its place in the diff. */
export function reviewRound(login: string, url: string, body: string, comments: readonly ReviewComment[]): string {
  const out = [`@${login} reviewed the pull request on GitHub (${url}) and asks for changes.`];
  const said = stripHidden(body).trim();
  if (said) out.push('', quoted(said));
  for (const c of comments) {
    const hunk = stripHidden(c.diffHunk).replace(/\s+$/, '');
    const f = fence(hunk);
    out.push(
      '',
      `### \`${c.path.replace(/`/g, '')}\`${c.line ? ` line ${c.line}` : ' (outdated)'}`,
      '',
      `${f}diff`,
      hunk,
      f,
      '',
      quoted(stripHidden(c.body).trim()),
      '',
      `Addresses: ${c.url}`,
    );
  }
  return out.join('\n');
}

/** TASK.md for an issue handed to the agent: its title, its words and the instructions, and `Fixes #N`. */
export function issueTask(
  issue: { number: number; title: string; body: string; url: string },
  login: string,
  instructions: string,
): string {
  const objective = [
    `Resolve issue #${issue.number} (${issue.url}), handed to the agent by @${login}. The issue says:`,
    '',
    quoted(issue.body.trim() || '(no description)'),
    ...(instructions.trim() ? ['', `@${login} adds:`, '', quoted(instructions.trim())] : []),
  ].join('\n');
  return renderTaskMarkdown({
    title: issue.title || `Issue #${issue.number}`,
    objective,
    constraints: [],
    acceptanceCriteria: [`Fixes #${issue.number}`],
  });
}

const ADDRESSES = /^Addresses: (https?:\/\/[^\s<>]+)$/gm;

/**
 * The `Addresses:` trailers of TASK.md's last round (none before the first follow-up), kept
 * only when they name a review comment of this pull request: what a commit may claim to answer.
 */
export function addressedComments(taskMarkdown: string, pr: { owner: string; repo: string; number: number }): string[] {
  if (followUpCount(taskMarkdown) === 0) return [];
  const last = taskMarkdown.slice(taskMarkdown.lastIndexOf('\n## Follow-up '));
  const own = new RegExp(`^https?://[^/\\s]+/${escape(pr.owner)}/${escape(pr.repo)}/pull/${pr.number}#discussion_r\\d+$`, 'i');
  return [...new Set([...last.matchAll(ADDRESSES)].map((m) => m[1] ?? '').filter((u) => own.test(u)))];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
