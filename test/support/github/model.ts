// The stand-in's state: users and tokens, repositories (each backed by a real bare
// repo), pull requests and comments, GitHub Apps with their installations and
// installation tokens. REST, GraphQL and git HTTP all act on this.
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { BareRepo, type FileAddition } from './bareRepo.js';

export type Permission = 'ADMIN' | 'MAINTAIN' | 'WRITE' | 'TRIAGE' | 'READ';
const RANK: Record<Permission, number> = { READ: 1, TRIAGE: 2, WRITE: 3, MAINTAIN: 4, ADMIN: 5 };

export interface User {
  id: number;
  login: string;
  token: string;
  /** Set when the token is a GitHub App's installation token: all it may reach. */
  scope?: InstallationToken;
}

export type AppPermissions = Record<string, 'read' | 'write'>;

export interface GitHubApp {
  id: number;
  slug: string;
  clientId: string;
  /** Verifies the App's JWTs (RS256). */
  publicKey: KeyObject;
  /** What the App asked for when it was registered; installations grant exactly this. */
  permissions: AppPermissions;
  /** The App's bot account ("<slug>[bot]"), the author of what its tokens do. */
  bot: User;
}

export interface Installation {
  id: number;
  app: GitHubApp;
  /** The user or organisation the App is installed on. */
  account: string;
  /** Every repository of the account, or the selected ones (lower-case names). */
  repositories: 'all' | Set<string>;
  createdAt: string;
}

export interface InstallationToken {
  token: string;
  installation: Installation;
  /** The repositories the token reaches (GitHub ids). */
  repositoryIds: Set<number>;
  /** true when made for named repositories; false when it reaches all of the installation's. */
  selected: boolean;
  permissions: AppPermissions;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

const LEVEL = { read: 1, write: 2 } as const;

export interface PullRequest {
  id: number;
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  merged: boolean;
  author: string;
  /** A fork's PR: the repository (`owner/name`) its head branch lives in; absent: this one. */
  headRepo?: string;
  /** Logins asked to review (POST .../requested_reviewers), in the order asked. */
  requestedReviewers: string[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

export interface IssueComment {
  id: number;
  issueNumber: number;
  body: string;
  author: string;
  createdAt: string;
}

export interface Repo {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  bare: BareRepo;
  /** login -> permission; the owner is ADMIN. */
  permissions: Map<string, Permission>;
  pulls: PullRequest[];
  comments: IssueComment[];
  /** Issues and PRs share one number sequence on GitHub. */
  nextNumber: number;
  createdAt: string;
}

export class Model {
  private seq = 1000;
  readonly users = new Map<string, User>(); // by login
  readonly byToken = new Map<string, User>();
  readonly repos = new Map<string, Repo>(); // by lower-case "owner/name"
  readonly apps = new Map<number, GitHubApp>();
  readonly installations = new Map<number, Installation>();
  /** Every installation token ever made (revoked and expired ones stay, marked). */
  readonly installationTokens: InstallationToken[] = [];
  private readonly liveTokens = new Map<string, InstallationToken>();

  constructor(readonly root: string) {}

  nextId(): number {
    return ++this.seq;
  }

  addUser(login: string, token: string): User {
    const user = { id: this.nextId(), login, token };
    this.users.set(login, user);
    this.byToken.set(token, user);
    return user;
  }

  userForToken(token: string | undefined): User | undefined {
    if (!token) return undefined;
    const user = this.byToken.get(token);
    if (user) return user;
    const scope = this.installationToken(token);
    return scope && { ...scope.installation.app.bot, token, scope };
  }

  /** A live (neither revoked nor expired) installation token. */
  installationToken(token: string): InstallationToken | undefined {
    const t = this.liveTokens.get(token);
    return t && t.revokedAt === null && t.expiresAt > Date.now() ? t : undefined;
  }

  addApp(
    slug: string,
    publicKeyPem: string,
    permissions: AppPermissions = { contents: 'write', pull_requests: 'write', metadata: 'read' },
  ): GitHubApp {
    const id = this.nextId();
    const bot = { id: this.nextId(), login: `${slug}[bot]`, token: '' };
    const app: GitHubApp = {
      id,
      slug,
      clientId: `Iv1.${randomBytes(8).toString('hex')}`,
      publicKey: createPublicKey(publicKeyPem),
      permissions,
      bot,
    };
    this.apps.set(id, app);
    this.users.set(bot.login, bot);
    return app;
  }

  install(app: GitHubApp, account: string, repositories: 'all' | string[] = 'all'): Installation {
    const inst: Installation = {
      id: this.nextId(),
      app,
      account,
      createdAt: new Date().toISOString(),
      repositories: repositories === 'all' ? 'all' : new Set(repositories.map((r) => r.toLowerCase())),
    };
    this.installations.set(inst.id, inst);
    return inst;
  }

  /** Whether the installation may reach this repository at all. */
  covers(inst: Installation, repo: Repo): boolean {
    return (
      repo.owner.toLowerCase() === inst.account.toLowerCase() &&
      (inst.repositories === 'all' || inst.repositories.has(repo.name.toLowerCase()))
    );
  }

  /** The App's installation that reaches the repository, as GET /repos/{owner}/{repo}/installation finds it. */
  installationFor(app: GitHubApp, repo: Repo): Installation | undefined {
    for (const inst of this.installations.values()) if (inst.app === app && this.covers(inst, repo)) return inst;
    return undefined;
  }

  /** Whether every requested permission is within what the installation was granted. */
  grantsPermissions(inst: Installation, wanted: AppPermissions): boolean {
    return Object.entries(wanted).every(([name, level]) => {
      const granted = inst.app.permissions[name];
      return granted !== undefined && LEVEL[granted] >= LEVEL[level];
    });
  }

  issueToken(inst: Installation, repos: Repo[], selected: boolean, permissions: AppPermissions): InstallationToken {
    const now = Date.now();
    const t: InstallationToken = {
      token: `ghs_${randomBytes(18).toString('base64url')}`,
      installation: inst,
      repositoryIds: new Set(repos.map((r) => r.id)),
      selected,
      permissions,
      createdAt: now,
      expiresAt: now + 3600_000,
      revokedAt: null,
    };
    this.installationTokens.push(t);
    this.liveTokens.set(t.token, t);
    return t;
  }

  revokeToken(token: string): boolean {
    const t = this.installationToken(token);
    if (!t) return false;
    t.revokedAt = Date.now();
    this.liveTokens.delete(token);
    return true;
  }

  repo(owner: string, name: string): Repo | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  repoById(id: number): Repo | undefined {
    for (const r of this.repos.values()) if (r.id === id) return r;
    return undefined;
  }

  async createRepo(
    owner: string,
    name: string,
    opts: { defaultBranch?: string; files?: FileAddition[]; private?: boolean } = {},
  ): Promise<Repo> {
    const defaultBranch = opts.defaultBranch ?? 'main';
    const bare = new BareRepo(join(this.root, owner, `${name}.git`));
    await bare.init(defaultBranch);
    const files = opts.files ?? [{ path: 'README.md', contents: `# ${name}\n` }];
    const oid = await bare.commit({
      parent: null,
      additions: files,
      message: 'Initial commit',
      author: { name: owner, email: `${owner}@users.noreply.github.com` },
    });
    await bare.updateRef(`refs/heads/${defaultBranch}`, oid, '');
    const repo: Repo = {
      id: this.nextId(),
      owner,
      name,
      private: opts.private ?? false,
      defaultBranch,
      bare,
      permissions: new Map([[owner, 'ADMIN']]),
      pulls: [],
      comments: [],
      nextNumber: 1,
      createdAt: new Date().toISOString(),
    };
    this.repos.set(`${owner}/${name}`.toLowerCase(), repo);
    return repo;
  }

  grant(repo: Repo, login: string, permission: Permission): void {
    repo.permissions.set(login, permission);
  }

  permission(repo: Repo, user: User | undefined): Permission | null {
    if (!user) return repo.private ? null : 'READ';
    if (user.scope) {
      // An installation token reaches its own repositories only; elsewhere it is as good as no token.
      if (!user.scope.repositoryIds.has(repo.id) || !this.covers(user.scope.installation, repo)) return repo.private ? null : 'READ';
      return user.scope.permissions.contents === 'write' ? 'WRITE' : 'READ';
    }
    return repo.permissions.get(user.login) ?? (repo.private ? null : 'READ');
  }

  can(repo: Repo, user: User | undefined, needed: Permission): boolean {
    const p = this.permission(repo, user);
    return p !== null && RANK[p] >= RANK[needed];
  }

  /** A repository the user may see; private ones are invisible (404) to others, as on GitHub. */
  visibleRepo(owner: string, name: string, user: User | undefined): Repo | undefined {
    const repo = this.repo(owner, name);
    return repo && this.permission(repo, user) ? repo : undefined;
  }

  openPull(repo: Repo, head: string, base: string): PullRequest | undefined {
    return repo.pulls.find((p) => p.state === 'open' && p.head === head && p.base === base);
  }

  addPull(
    repo: Repo,
    pr: Omit<PullRequest, 'id' | 'number' | 'state' | 'merged' | 'requestedReviewers' | 'createdAt' | 'updatedAt' | 'closedAt'>,
  ): PullRequest {
    const now = new Date().toISOString();
    const pull: PullRequest = {
      ...pr,
      id: this.nextId(),
      number: repo.nextNumber++,
      state: 'open',
      merged: false,
      requestedReviewers: [],
      createdAt: now,
      updatedAt: now,
      closedAt: null,
    };
    repo.pulls.push(pull);
    return pull;
  }
}

/** Node ids in GitHub's opaque style; ours encode what they point at. */
export const nodeId = {
  repo: (r: Repo) => `R_${Buffer.from(`repo:${r.id}`).toString('base64url')}`,
  ref: (r: Repo, qualifiedName: string) => `REF_${Buffer.from(JSON.stringify([r.id, qualifiedName])).toString('base64url')}`,
  pull: (p: PullRequest) => `PR_${Buffer.from(`pull:${p.id}`).toString('base64url')}`,
  user: (u: { id: number }) => `U_${Buffer.from(`user:${u.id}`).toString('base64url')}`,
  commit: (oid: string) => `C_${Buffer.from(`commit:${oid}`).toString('base64url')}`,
  decodeRepo(id: string): number | null {
    const m = /^R_(.+)$/.exec(id);
    const text = m?.[1] ? Buffer.from(m[1], 'base64url').toString() : '';
    const n = /^repo:(\d+)$/.exec(text);
    return n?.[1] ? Number(n[1]) : null;
  },
  decodeRef(id: string): [number, string] | null {
    const m = /^REF_(.+)$/.exec(id);
    if (!m?.[1]) return null;
    try {
      const v: unknown = JSON.parse(Buffer.from(m[1], 'base64url').toString());
      return Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string' ? [v[0], v[1]] : null;
    } catch {
      return null;
    }
  },
};
