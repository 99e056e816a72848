// Comments on the job's pull request when the agent could not deliver, so a PR
// never silently stays with only TASK.md. Optional: needs the job's GitHub
// credential (a GitHub App token or KIRO_GITHUB_TOKEN), given per call.
import { Octokit } from '@octokit/core';
import type { Job } from '../jobs/job.js';

export type Commenter = (job: Job, token: string | undefined) => Promise<void>;

const HEADLINE: Partial<Record<Job['state'], string>> = {
  failed: 'Kiro could not complete this task',
  'timed-out': 'Kiro ran out of time on this task',
  'no-changes': 'Kiro finished without changing any file',
};

export function commentBody(job: Job): string {
  const headline = HEADLINE[job.state] ?? `Kiro job ended: ${job.state}`;
  const reason = job.error ? `**Reason:** ${job.error.message} (\`${job.error.code}\`)` : '';
  const tail = job.outputTail.slice(-20).join('\n').replace(/`{3,}/g, '``');
  return [`### ${headline}`, '', reason, '', `Job \`${job.id}\`, attempt ${job.attempts}.`, '', tail ? `<details><summary>Last lines of the agent's output</summary>\n\n\`\`\`\n${tail}\n\`\`\`\n</details>` : '']
    .filter((l, i, a) => !(l === '' && a[i - 1] === ''))
    .join('\n');
}

export function githubCommenter(apiUrl: string): Commenter {
  return async (job, token) => {
    if (!HEADLINE[job.state] || !token) return;
    const octokit = new Octokit({ baseUrl: apiUrl, auth: token, userAgent: 'kiro-delegate-worker' });
    await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      owner: job.request.owner, repo: job.request.repo, issue_number: job.request.prNumber, body: commentBody(job),
      // The job's token is revoked only once this is done, so it may not wait on GitHub indefinitely.
      request: { signal: AbortSignal.timeout(30_000) },
    });
  };
}
