// A follow-up on a delegated PR: one more `## Follow-up N` section appended to
// TASK.md on the PR's branch, in one createCommitOnBranch with expectedHeadOid =
// the branch head just read. If the branch moved in between (the agent pushed,
// someone else did), the head is read again and the commit tried once more.
import { appendFollowUp } from '../../shared/taskMarkdown.js';
import type { GitHubClient } from './client.js';
import { DelegateError } from './errors.js';

const READ = `query KiroFollowUpRead($owner: String!, $name: String!, $ref: String!, $file: String!) {
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $ref) { target { oid } }
    file: object(expression: $file) { ... on Blob { text } }
  }
}`;

const COMMIT = `mutation KiroFollowUp($branch: CommittableBranch!, $oid: GitObjectID!, $message: CommitMessage!, $changes: FileChanges!) {
  createCommitOnBranch(input: { branch: $branch, expectedHeadOid: $oid, message: $message, fileChanges: $changes }) { commit { oid } }
}`;

export interface FollowUpInput {
  owner: string;
  repo: string;
  branch: string;
  title: string;
  instructions: string;
}

export interface FollowUpCommit {
  /** The new TASK.md commit: the agent's next push is compared against it. */
  taskCommitOid: string;
  taskMarkdown: string;
  round: number;
}

const MAX_ATTEMPTS = 3;

export async function commitFollowUp(input: FollowUpInput, deps: { client: GitHubClient; now?: () => Date }): Promise<FollowUpCommit> {
  if (!input.instructions.trim()) throw new DelegateError('INVALID_INPUT', 'the follow-up has no instructions', 'instructions');
  for (let attempt = 1; ; attempt++) {
    const read = await deps.client.graphql<{ repository: { ref: { target: { oid: string } } | null; file: { text: string | null } | null } | null }>(READ, {
      owner: input.owner, name: input.repo, ref: `refs/heads/${input.branch}`, file: `refs/heads/${input.branch}:TASK.md`,
    });
    const head = read.repository?.ref?.target.oid;
    if (!head) throw new DelegateError('BRANCH_MISSING', `the branch ${input.branch} no longer exists on ${input.owner}/${input.repo}`);
    const { markdown, round } = appendFollowUp(read.repository?.file?.text ?? `# ${input.title}\n`, input.instructions, (deps.now ?? (() => new Date()))());
    try {
      const res = await deps.client.graphql<{ createCommitOnBranch: { commit: { oid: string } } }>(COMMIT, {
        branch: { repositoryNameWithOwner: `${input.owner}/${input.repo}`, branchName: input.branch },
        oid: head,
        message: { headline: `task: follow-up ${round}: ${input.title}`.slice(0, 200) },
        changes: { additions: [{ path: 'TASK.md', contents: Buffer.from(markdown, 'utf8').toString('base64') }] },
        request: { retries: 0 },
      });
      return { taskCommitOid: res.createCommitOnBranch.commit.oid, taskMarkdown: markdown, round };
    } catch (e) {
      // The branch moved since we read it (GitHub's STALE_DATA): read it again, the follow-up goes on top of the new head.
      const errors = (e as { errors?: { type?: string }[] }).errors;
      if (!errors?.some((er) => er.type === 'STALE_DATA') || attempt >= MAX_ATTEMPTS) throw e;
    }
  }
}
