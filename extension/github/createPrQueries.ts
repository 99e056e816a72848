// The GraphQL documents createPr.ts sends, and the shapes of their answers.

/** Round trip 1: repository id, the base's head, the user's permission, and (optionally) whether the candidate branch is taken. */
export const PREPARE = `query KiroPrepare($owner: String!, $name: String!, $base: String!, $candidate: String!, $withCandidate: Boolean!) {
  viewer { login }
  repository(owner: $owner, name: $name) {
    id
    viewerPermission
    base: ref(qualifiedName: $base) { target { oid } }
    candidate: ref(qualifiedName: $candidate) @include(if: $withCandidate) { id }
  }
}`;

export interface PrepareData {
  viewer?: { login: string };
  repository: {
    id: string;
    viewerPermission: string | null;
    base: { target: { oid: string } } | null;
    candidate?: { id: string } | null;
  } | null;
}

/** Round trip 2: the branch at the base head, TASK.md on it (expectedHeadOid = base head), the PR. */
export const DELEGATE = `mutation KiroDelegate($repositoryId: ID!, $ref: String!, $oid: GitObjectID!, $branch: CommittableBranch!, $message: CommitMessage!, $changes: FileChanges!, $base: String!, $head: String!, $title: String!, $body: String!, $draft: Boolean!) {
  createRef(input: { repositoryId: $repositoryId, name: $ref, oid: $oid }) { ref { id } }
  createCommitOnBranch(input: { branch: $branch, expectedHeadOid: $oid, message: $message, fileChanges: $changes }) { commit { oid } }
  createPullRequest(input: { repositoryId: $repositoryId, baseRefName: $base, headRefName: $head, title: $title, body: $body, draft: $draft }) { pullRequest { id number url } }
}`;

export interface DelegateData {
  createRef: { ref: { id: string } | null } | null;
  createCommitOnBranch: { commit: { oid: string } | null } | null;
  createPullRequest: { pullRequest: { id: string; number: number; url: string } | null } | null;
}

/** After a failed attempt: close the PR we opened and/or delete the branch we created (only the parts given). */
export function undoDocument(undo: { pr?: string; ref?: string }): { query: string; variables: Record<string, string> } | undefined {
  const fields: string[] = [];
  const variables: Record<string, string> = {};
  if (undo.pr) {
    fields.push('closePr: closePullRequest(input: { pullRequestId: $pr }) { clientMutationId }');
    variables.pr = undo.pr;
  }
  if (undo.ref) {
    fields.push('deleteBranch: deleteRef(input: { refId: $ref }) { clientMutationId }');
    variables.ref = undo.ref;
  }
  if (fields.length === 0) return undefined;
  const decl = Object.keys(variables)
    .map((k) => `$${k}: ID!`)
    .join(', ');
  return { query: `mutation KiroUndo(${decl}) { ${fields.join('\n')} }`, variables };
}

/** After a mutation whose answer was lost: the candidate branch, its commit and its open PRs. */
export const RECOVER = `query KiroRecover($owner: String!, $name: String!, $candidate: String!) {
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $candidate) {
      id
      target { ... on Commit { oid message } }
      associatedPullRequests(first: 5, states: [OPEN]) { nodes { id number url } }
    }
  }
}`;

export interface RecoverData {
  repository: {
    ref: {
      id: string;
      target: { oid: string; message: string };
      associatedPullRequests: { nodes: { number: number; url: string }[] };
    } | null;
  };
}

/** Our branch and commit made it, the PR did not: open it. */
export const FINISH = `mutation KiroFinish($repositoryId: ID!, $base: String!, $head: String!, $title: String!, $body: String!, $draft: Boolean!) {
      createPullRequest(input: { repositoryId: $repositoryId, baseRefName: $base, headRefName: $head, title: $title, body: $body, draft: $draft }) { pullRequest { number url } }
    }`;

export interface FinishData {
  createPullRequest: { pullRequest: { number: number; url: string } };
}

export const REPO_ID = `query KiroRepoId($o: String!, $n: String!) { repository(owner: $o, name: $n) { id } }`;

export interface RepoIdData {
  repository: { id: string };
}
