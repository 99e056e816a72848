// One more section of TASK.md on a pull request's branch, in one createCommitOnBranch with
// expectedHeadOid = the head just read. If the branch moved in between (the agent pushed,
// someone else did), the head is read again and the commit tried again on top of it. The
// extension's Send Follow-up… and the worker's `/kiro` rounds both commit through here.

const READ = `query KiroTaskRead($owner: String!, $name: String!, $ref: String!, $file: String!) {
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $ref) { target { oid } }
    file: object(expression: $file) { ... on Blob { text } }
  }
}`;

const COMMIT = `mutation KiroTaskCommit($branch: CommittableBranch!, $oid: GitObjectID!, $message: CommitMessage!, $changes: FileChanges!) {
  createCommitOnBranch(input: { branch: $branch, expectedHeadOid: $oid, message: $message, fileChanges: $changes }) { commit { oid } }
}`;

/** Octokit's `graphql(query, variables)`, or anything shaped like it. */
export type GraphqlCall = <T>(query: string, variables: Record<string, unknown>) => Promise<T>;

export interface TaskRoundInput {
  owner: string;
  repo: string;
  branch: string;
  /** For the commit's headline, and a TASK.md that is missing. */
  title: string;
  /** TASK.md as the branch holds it → TASK.md with the new round, and the round's number. */
  edit(current: string): { markdown: string; round: number };
}

export interface TaskRoundCommit {
  /** The new TASK.md commit: the agent's next push is compared against it. */
  taskCommitOid: string;
  taskMarkdown: string;
  round: number;
}

export class BranchMissingError extends Error {
  readonly code = 'BRANCH_MISSING';
}

const MAX_ATTEMPTS = 3;

export async function commitTaskRound(input: TaskRoundInput, graphql: GraphqlCall): Promise<TaskRoundCommit> {
  for (let attempt = 1; ; attempt++) {
    const read = await graphql<{ repository: { ref: { target: { oid: string } } | null; file: { text: string | null } | null } | null }>(
      READ,
      {
        owner: input.owner,
        name: input.repo,
        ref: `refs/heads/${input.branch}`,
        file: `refs/heads/${input.branch}:TASK.md`,
      },
    );
    const head = read.repository?.ref?.target.oid;
    if (!head) throw new BranchMissingError(`the branch ${input.branch} no longer exists on ${input.owner}/${input.repo}`);
    const { markdown, round } = input.edit(read.repository?.file?.text ?? `# ${input.title}\n`);
    try {
      const res = await graphql<{ createCommitOnBranch: { commit: { oid: string } } }>(COMMIT, {
        branch: { repositoryNameWithOwner: `${input.owner}/${input.repo}`, branchName: input.branch },
        oid: head,
        message: { headline: `task: follow-up ${round}: ${input.title}`.slice(0, 200) },
        changes: { additions: [{ path: 'TASK.md', contents: Buffer.from(markdown, 'utf8').toString('base64') }] },
        request: { retries: 0 },
      });
      return { taskCommitOid: res.createCommitOnBranch.commit.oid, taskMarkdown: markdown, round };
    } catch (e) {
      // The branch moved since we read it (GitHub's STALE_DATA): read it again, the round goes on top of the new head.
      const errors = (e as { errors?: { type?: string }[] }).errors;
      if (!errors?.some((er) => er.type === 'STALE_DATA') || attempt >= MAX_ATTEMPTS) throw e;
    }
  }
}
