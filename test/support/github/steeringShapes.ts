// REST bodies of the steering routes in GitHub's shapes (validated against its OpenAPI
// description on the way out): reactions, check runs, commit statuses, review comments.
import type { GitHubApp, Model, Repo } from './model.js';
import { simpleUser, type Urls } from './restShapes.js';
import type { CheckRun, CommitStatus, Reaction, ReviewComment } from './steeringModel.js';

const node = (kind: string, id: number) => `${kind}_${Buffer.from(`${kind}:${id}`).toString('base64url')}`;
const userOf = (model: Model, login: string) => model.users.get(login) ?? { id: 1, login };

export function reaction(model: Model, urls: Urls, r: Reaction) {
  return {
    id: r.id,
    node_id: node('REA', r.id),
    user: simpleUser(urls, userOf(model, r.user)),
    content: r.content,
    created_at: r.createdAt,
  };
}

function integration(urls: Urls, app: GitHubApp, owner: { id: number; login: string }) {
  const at = '2024-01-01T00:00:00Z';
  return {
    id: app.id,
    slug: app.slug,
    node_id: node('A', app.id),
    client_id: app.clientId,
    owner: simpleUser(urls, owner),
    name: app.slug,
    description: null,
    external_url: `${urls.web}/apps/${app.slug}`,
    html_url: `${urls.web}/apps/${app.slug}`,
    created_at: at,
    updated_at: at,
    permissions: { ...app.permissions },
    events: ['issue_comment', 'issues', 'pull_request_review'],
  };
}

export function checkRun(model: Model, urls: Urls, repo: Repo, run: CheckRun) {
  const api = `${urls.api}/repos/${repo.owner}/${repo.name}`;
  const app = model.apps.get(run.appId);
  return {
    id: run.id,
    node_id: node('CR', run.id),
    head_sha: run.headSha,
    external_id: run.externalId ?? '',
    url: `${api}/check-runs/${run.id}`,
    html_url: `${urls.web}/${repo.owner}/${repo.name}/runs/${run.id}`,
    details_url: run.detailsUrl,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    name: run.name,
    check_suite: { id: run.id + 1_000_000 },
    output: { ...run.output, annotations_count: 0, annotations_url: `${api}/check-runs/${run.id}/annotations` },
    app: app ? integration(urls, app, userOf(model, repo.owner)) : null,
    pull_requests: [],
  };
}

export function commitStatus(model: Model, urls: Urls, repo: Repo, s: CommitStatus) {
  const creator = userOf(model, s.creator);
  return {
    url: `${urls.api}/repos/${repo.owner}/${repo.name}/statuses/${s.sha}`,
    avatar_url: `${urls.web}/avatars/${encodeURIComponent(creator.login)}`,
    id: s.id,
    node_id: node('SC', s.id),
    state: s.state,
    description: s.description,
    target_url: s.targetUrl,
    context: s.context,
    created_at: s.createdAt,
    updated_at: s.createdAt,
    creator: simpleUser(urls, creator),
  };
}

export function reviewCommentUrl(urls: Urls, repo: Repo, c: Pick<ReviewComment, 'pullNumber' | 'id'>): string {
  return `${urls.web}/${repo.owner}/${repo.name}/pull/${c.pullNumber}#discussion_r${c.id}`;
}

/** A review comment as GET .../reviews/{id}/comments and POST .../replies answer it (their common fields). */
export function reviewComment(model: Model, urls: Urls, repo: Repo, c: ReviewComment) {
  const api = `${urls.api}/repos/${repo.owner}/${repo.name}`;
  const link = (href: string) => ({ href });
  return {
    url: `${api}/pulls/comments/${c.id}`,
    id: c.id,
    node_id: node('PRRC', c.id),
    pull_request_review_id: c.reviewId,
    diff_hunk: c.diffHunk,
    path: c.path,
    position: c.line,
    original_position: c.line,
    commit_id: c.commitId,
    original_commit_id: c.commitId,
    user: simpleUser(urls, userOf(model, c.author)),
    body: c.body,
    created_at: c.createdAt,
    updated_at: c.createdAt,
    html_url: reviewCommentUrl(urls, repo, c),
    pull_request_url: `${api}/pulls/${c.pullNumber}`,
    author_association: 'COLLABORATOR',
    _links: {
      self: link(`${api}/pulls/comments/${c.id}`),
      html: link(reviewCommentUrl(urls, repo, c)),
      pull_request: link(`${api}/pulls/${c.pullNumber}`),
    },
    line: c.line,
    original_line: c.line,
    side: 'RIGHT',
    ...(c.inReplyTo !== undefined ? { in_reply_to_id: c.inReplyTo } : {}),
  };
}
