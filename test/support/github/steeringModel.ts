// The stand-in's state for work steered from GitHub: issues (beside pull requests, on the
// same number sequence), reviews and their inline comments, reactions, check runs and
// commit statuses. Kept per repository, beside the Repo the rest of the model holds.
import type { Model, Repo } from './model.js';

export interface Issue {
  id: number;
  number: number;
  title: string;
  body: string;
  author: string;
  labels: string[];
  state: 'open' | 'closed';
  createdAt: string;
}

export interface Review {
  id: number;
  pullNumber: number;
  body: string;
  author: string;
  state: 'COMMENTED' | 'APPROVED' | 'CHANGES_REQUESTED';
  commitId: string;
  submittedAt: string;
}

export interface ReviewComment {
  id: number;
  pullNumber: number;
  reviewId: number;
  path: string;
  line: number;
  body: string;
  author: string;
  diffHunk: string;
  commitId: string;
  inReplyTo?: number;
  createdAt: string;
}

export type ReactionContent = '+1' | '-1' | 'laugh' | 'confused' | 'heart' | 'hooray' | 'rocket' | 'eyes';
export type ReactionTarget = 'issue' | 'issue-comment' | 'review-comment';

export interface Reaction {
  id: number;
  target: ReactionTarget;
  /** The issue's number, or the comment's id. */
  targetId: number;
  content: ReactionContent;
  user: string;
  createdAt: string;
  /** When the stand-in received it (ms): what a benchmark measures to. */
  at: number;
}

export interface CheckRun {
  id: number;
  appId: number;
  name: string;
  headSha: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  startedAt: string;
  completedAt: string | null;
  /** Every status it went through, in order. */
  history: string[];
}

export interface CommitStatus {
  id: number;
  sha: string;
  state: 'pending' | 'success' | 'failure' | 'error';
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: string;
  createdAt: string;
}

export interface SteeringState {
  issues: Issue[];
  reviews: Review[];
  reviewComments: ReviewComment[];
  reactions: Reaction[];
  checkRuns: CheckRun[];
  statuses: CommitStatus[];
}

const states = new WeakMap<Repo, SteeringState>();

export function steeringOf(repo: Repo): SteeringState {
  let s = states.get(repo);
  if (!s) {
    s = { issues: [], reviews: [], reviewComments: [], reactions: [], checkRuns: [], statuses: [] };
    states.set(repo, s);
  }
  return s;
}

/** A new issue, numbered after the repository's pull requests and issues (GitHub's one sequence). */
export function addIssue(model: Model, repo: Repo, issue: Pick<Issue, 'title' | 'body' | 'author'>): Issue {
  const made: Issue = {
    ...issue,
    id: model.nextId(),
    number: repo.nextNumber++,
    labels: [],
    state: 'open',
    createdAt: new Date().toISOString(),
  };
  steeringOf(repo).issues.push(made);
  return made;
}

/**
 * The hunk GitHub shows above a review comment: the diff of the file between the PR's base
 * and head, up to and including the commented line (at most the four lines before it).
 */
export function hunkAt(base: string, head: string, path: string, line: number): string {
  const before = base.split('\n');
  const after = head.split('\n');
  const start = Math.max(1, line - 3);
  const lines = after.slice(start - 1, line).map((l, i) => (before[start - 1 + i] === l ? ` ${l}` : `+${l}`));
  return `@@ -${start},${Math.max(0, Math.min(before.length, line) - start + 1)} +${start},${lines.length} @@ ${path}\n${lines.join('\n')}`;
}
