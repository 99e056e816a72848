// What the delegation's PR says: its body, and the absolute link to TASK.md on its branch.
import type { TaskFields } from '../../shared/taskMarkdown.js';

/** The file on the branch on GitHub's web UI; each part of the branch name is escaped, its slashes kept. */
export function blobUrl(webUrl: string, owner: string, repo: string, branch: string, path: string): string {
  const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  return `${webUrl.replace(/\/+$/, '')}/${enc(owner)}/${enc(repo)}/blob/${enc(branch)}/${enc(path)}`;
}

/** A relative link in a PR body resolves against the PR page (…/pull/N/TASK.md), so TASK.md is linked absolutely. */
export function prBody(task: TaskFields, code: string, taskUrl: string): string {
  const lines = [
    `Delegated with **Kiro Delegate** · confirmation code \`${code}\``,
    '',
    task.objective.trim().slice(0, 2000),
    '',
    `The task is in [\`TASK.md\`](${taskUrl}). A coding agent is working on it and will push its changes to this branch.`,
  ];
  return lines.join('\n');
}
