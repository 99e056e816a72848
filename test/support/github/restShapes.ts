// REST response bodies in GitHub's shapes. Every field the OpenAPI description
// requires is present (the stand-in validates each response against it).
import {
  nodeId,
  type Model,
  type PullRequest,
  type Repo,
  type IssueComment,
  type User,
  type Installation,
  type InstallationToken,
} from './model.js';

export interface Urls {
  /** e.g. http://127.0.0.1:1234/api/v3 */
  api: string;
  /** e.g. http://127.0.0.1:1234 */
  web: string;
}

export function simpleUser(urls: Urls, user: Pick<User, 'id' | 'login'>) {
  // An App's bot is "<slug>[bot]": GitHub escapes the brackets in its URLs.
  const path = encodeURIComponent(user.login);
  const u = `${urls.api}/users/${path}`;
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId.user(user),
    avatar_url: `${urls.web}/avatars/${path}`,
    gravatar_id: '',
    url: u,
    html_url: `${urls.web}/${path}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: user.login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false,
  };
}

/** GET /user: the token's own account, as GitHub shows it to a token of someone else's (public view). */
export function publicUser(urls: Urls, user: Pick<User, 'id' | 'login'>) {
  return {
    ...simpleUser(urls, user),
    user_view_type: 'public',
    name: null,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: '2020-01-01T00:00:00Z',
    updated_at: '2020-01-01T00:00:00Z',
  };
}

/** GET /repos/{owner}/{repo}/collaborators/{username}/permission: `permission` in GitHub's four legacy levels, the role by its name. */
export function collaboratorPermission(
  urls: Urls,
  user: Pick<User, 'id' | 'login'>,
  permission: 'ADMIN' | 'MAINTAIN' | 'WRITE' | 'TRIAGE' | 'READ' | null,
) {
  const legacy =
    permission === 'ADMIN'
      ? 'admin'
      : permission === 'MAINTAIN' || permission === 'WRITE'
        ? 'write'
        : permission === 'TRIAGE' || permission === 'READ'
          ? 'read'
          : 'none';
  const role = permission ? permission.toLowerCase() : 'none';
  const at = (p: string) =>
    ['read', 'triage', 'write', 'maintain', 'admin'].indexOf(role) >= ['read', 'triage', 'write', 'maintain', 'admin'].indexOf(p);
  const permissions = { pull: at('read'), triage: at('triage'), push: at('write'), maintain: at('maintain'), admin: at('admin') };
  return {
    permission: legacy,
    role_name: role,
    user: { ...simpleUser(urls, user), user_view_type: 'public', role_name: role, permissions },
  };
}

function ownerOf(model: Model, repo: Repo) {
  return model.users.get(repo.owner) ?? { id: 1, login: repo.owner };
}

const TEMPLATED: Record<string, string> = {
  archive_url: '/{archive_format}{/ref}',
  assignees_url: '/assignees{/user}',
  blobs_url: '/git/blobs{/sha}',
  branches_url: '/branches{/branch}',
  collaborators_url: '/collaborators{/collaborator}',
  comments_url: '/comments{/number}',
  commits_url: '/commits{/sha}',
  compare_url: '/compare/{base}...{head}',
  contents_url: '/contents/{+path}',
  contributors_url: '/contributors',
  deployments_url: '/deployments',
  downloads_url: '/downloads',
  events_url: '/events',
  forks_url: '/forks',
  git_commits_url: '/git/commits{/sha}',
  git_refs_url: '/git/refs{/sha}',
  git_tags_url: '/git/tags{/sha}',
  hooks_url: '/hooks',
  issue_comment_url: '/issues/comments{/number}',
  issue_events_url: '/issues/events{/number}',
  issues_url: '/issues{/number}',
  keys_url: '/keys{/key_id}',
  labels_url: '/labels{/name}',
  languages_url: '/languages',
  merges_url: '/merges',
  milestones_url: '/milestones{/number}',
  notifications_url: '/notifications{?since,all,participating}',
  pulls_url: '/pulls{/number}',
  releases_url: '/releases{/id}',
  stargazers_url: '/stargazers',
  statuses_url: '/statuses/{sha}',
  subscribers_url: '/subscribers',
  subscription_url: '/subscription',
  tags_url: '/tags',
  teams_url: '/teams',
  trees_url: '/git/trees{/sha}',
};

export function repository(model: Model, urls: Urls, repo: Repo) {
  const api = `${urls.api}/repos/${repo.owner}/${repo.name}`;
  const html = `${urls.web}/${repo.owner}/${repo.name}`;
  const templated = Object.fromEntries(Object.entries(TEMPLATED).map(([k, v]) => [k, api + v]));
  const openIssues = repo.pulls.filter((p) => p.state === 'open').length;
  return {
    id: repo.id,
    node_id: nodeId.repo(repo),
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    owner: simpleUser(urls, ownerOf(model, repo)),
    private: repo.private,
    html_url: html,
    description: null,
    fork: false,
    url: api,
    ...templated,
    clone_url: `${html}.git`,
    git_url: `${html.replace(/^https?/, 'git')}.git`,
    ssh_url: `git@stand-in:${repo.owner}/${repo.name}.git`,
    svn_url: html,
    mirror_url: null,
    homepage: null,
    language: null,
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: repo.defaultBranch,
    open_issues_count: openIssues,
    open_issues: openIssues,
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: repo.private ? 'private' : 'public',
    license: null,
    pushed_at: repo.createdAt,
    created_at: repo.createdAt,
    updated_at: repo.createdAt,
  };
}

export function fullRepository(model: Model, urls: Urls, repo: Repo) {
  return { ...repository(model, urls, repo), network_count: 0, subscribers_count: 0 };
}

export function gitRef(urls: Urls, repo: Repo, qualifiedName: string, sha: string) {
  const api = `${urls.api}/repos/${repo.owner}/${repo.name}`;
  return {
    ref: qualifiedName,
    node_id: nodeId.ref(repo, qualifiedName),
    url: `${api}/git/${qualifiedName}`,
    object: { type: 'commit', sha, url: `${api}/git/commits/${sha}` },
  };
}

export async function pullRequest(model: Model, urls: Urls, repo: Repo, pr: PullRequest) {
  const api = `${urls.api}/repos/${repo.owner}/${repo.name}`;
  const html = `${urls.web}/${repo.owner}/${repo.name}/pull/${pr.number}`;
  const author = model.users.get(pr.author) ?? { id: 1, login: pr.author };
  const headSha = (await repo.bare.resolve(`refs/heads/${pr.head}`)) ?? (await repo.bare.resolve(`refs/pull/${pr.number}/head`)) ?? '';
  const baseSha = (await repo.bare.resolve(`refs/heads/${pr.base}`)) ?? '';
  const repoBody = repository(model, urls, repo);
  const side = (ref: string, sha: string) => ({
    label: `${repo.owner}:${ref}`,
    ref,
    sha,
    user: simpleUser(urls, ownerOf(model, repo)),
    repo: repoBody,
  });
  const fork = pr.headRepo ? model.repo(...(pr.headRepo.split('/') as [string, string])) : undefined;
  const headSide = (ref: string, sha: string) =>
    fork
      ? { label: `${fork.owner}:${ref}`, ref, sha, user: simpleUser(urls, ownerOf(model, fork)), repo: repository(model, urls, fork) }
      : side(ref, sha);
  const link = (href: string) => ({ href });
  return {
    url: `${api}/pulls/${pr.number}`,
    id: pr.id,
    node_id: nodeId.pull(pr),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/issues/${pr.number}`,
    commits_url: `${api}/pulls/${pr.number}/commits`,
    review_comments_url: `${api}/pulls/${pr.number}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${api}/issues/${pr.number}/comments`,
    statuses_url: `${api}/statuses/${headSha}`,
    number: pr.number,
    state: pr.state,
    locked: false,
    title: pr.title,
    user: simpleUser(urls, author),
    body: pr.body || null,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    closed_at: pr.closedAt,
    merged_at: pr.merged ? pr.closedAt : null,
    merge_commit_sha: null,
    assignee: null,
    assignees: [],
    requested_reviewers: pr.requestedReviewers.map((login) => simpleUser(urls, model.users.get(login) ?? { id: 1, login })),
    requested_teams: [],
    head: headSide(pr.head, headSha),
    base: side(pr.base, baseSha),
    _links: {
      self: link(`${api}/pulls/${pr.number}`),
      html: link(html),
      issue: link(`${api}/issues/${pr.number}`),
      comments: link(`${api}/issues/${pr.number}/comments`),
      review_comments: link(`${api}/pulls/${pr.number}/comments`),
      review_comment: link(`${api}/pulls/comments{/number}`),
      commits: link(`${api}/pulls/${pr.number}/commits`),
      statuses: link(`${api}/statuses/${headSha}`),
    },
    author_association: 'OWNER',
    auto_merge: null,
    draft: pr.draft,
    merged: pr.merged,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: null,
    comments: repo.comments.filter((c) => c.issueNumber === pr.number).length,
    review_comments: 0,
    maintainer_can_modify: true,
    commits: 1,
    additions: 0,
    deletions: 0,
    changed_files: 0,
  };
}

export function issueComment(model: Model, urls: Urls, repo: Repo, c: IssueComment) {
  const api = `${urls.api}/repos/${repo.owner}/${repo.name}`;
  const author = model.users.get(c.author) ?? { id: 1, login: c.author };
  return {
    id: c.id,
    node_id: `IC_${Buffer.from(`comment:${c.id}`).toString('base64url')}`,
    url: `${api}/issues/comments/${c.id}`,
    html_url: `${urls.web}/${repo.owner}/${repo.name}/pull/${c.issueNumber}#issuecomment-${c.id}`,
    body: c.body,
    user: simpleUser(urls, author),
    created_at: c.createdAt,
    updated_at: c.createdAt,
    issue_url: `${api}/issues/${c.issueNumber}`,
    author_association: 'OWNER',
  };
}

export function fileCommit(urls: Urls, repo: Repo, path: string, blobSha: string, commitSha: string, message: string, author: User) {
  const api = `${urls.api}/repos/${repo.owner}/${repo.name}`;
  const html = `${urls.web}/${repo.owner}/${repo.name}`;
  const who = { name: author.login, email: `${author.login}@users.noreply.github.com`, date: new Date().toISOString() };
  return {
    content: {
      name: path.split('/').pop() ?? path,
      path,
      sha: blobSha,
      size: 0,
      url: `${api}/contents/${path}`,
      html_url: `${html}/blob/HEAD/${path}`,
      git_url: `${api}/git/blobs/${blobSha}`,
      download_url: `${urls.web}/raw/${repo.owner}/${repo.name}/HEAD/${path}`,
      type: 'file',
      _links: { self: `${api}/contents/${path}`, git: `${api}/git/blobs/${blobSha}`, html: `${html}/blob/HEAD/${path}` },
    },
    commit: {
      sha: commitSha,
      node_id: nodeId.commit(commitSha),
      url: `${api}/git/commits/${commitSha}`,
      html_url: `${html}/commit/${commitSha}`,
      author: who,
      committer: who,
      message,
      tree: { url: `${api}/git/trees/${commitSha}`, sha: commitSha },
      parents: [],
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    },
  };
}

export function installation(model: Model, urls: Urls, inst: Installation) {
  const account = model.users.get(inst.account) ?? { id: 1, login: inst.account };
  return {
    id: inst.id,
    account: simpleUser(urls, account),
    repository_selection: inst.repositories === 'all' ? 'all' : 'selected',
    access_tokens_url: `${urls.api}/app/installations/${inst.id}/access_tokens`,
    repositories_url: `${urls.api}/installation/repositories`,
    html_url: `${urls.web}/settings/installations/${inst.id}`,
    app_id: inst.app.id,
    client_id: inst.app.clientId,
    app_slug: inst.app.slug,
    target_id: account.id,
    target_type: 'User',
    permissions: inst.app.permissions,
    events: [],
    created_at: inst.createdAt,
    updated_at: inst.createdAt,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

export function installationToken(model: Model, urls: Urls, t: InstallationToken) {
  const repos = [...t.repositoryIds].flatMap((id) => model.repoById(id) ?? []);
  return {
    token: t.token,
    expires_at: new Date(t.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    permissions: t.permissions,
    repository_selection: t.selected || t.installation.repositories !== 'all' ? 'selected' : 'all',
    ...(t.selected ? { repositories: repos.map((r) => repository(model, urls, r)) } : {}),
  };
}
