// The stand-in's state: users and tokens, repositories (each backed by a real bare
// repo), pull requests and comments. REST, GraphQL and git HTTP all act on this.
import { join } from 'node:path';
import { BareRepo, type FileAddition } from './bareRepo.js';

export type Permission = 'ADMIN' | 'MAINTAIN' | 'WRITE' | 'TRIAGE' | 'READ';
const RANK: Record<Permission, number> = { READ: 1, TRIAGE: 2, WRITE: 3, MAINTAIN: 4, ADMIN: 5 };

export interface User {
  id: number;
  login: string;
  token: string;
}

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
    return token ? this.byToken.get(token) : undefined;
  }

  repo(owner: string, name: string): Repo | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  repoById(id: number): Repo | undefined {
    for (const r of this.repos.values()) if (r.id === id) return r;
    return undefined;
  }

  async createRepo(owner: string, name: string, opts: { defaultBranch?: string; files?: FileAddition[]; private?: boolean } = {}): Promise<Repo> {
    const defaultBranch = opts.defaultBranch ?? 'main';
    const bare = new BareRepo(join(this.root, owner, `${name}.git`));
    await bare.init(defaultBranch);
    const files = opts.files ?? [{ path: 'README.md', contents: `# ${name}\n` }];
    const oid = await bare.commit({ parent: null, additions: files, message: 'Initial commit', author: { name: owner, email: `${owner}@users.noreply.github.com` } });
    await bare.updateRef(`refs/heads/${defaultBranch}`, oid, '');
    const repo: Repo = {
      id: this.nextId(), owner, name, private: opts.private ?? false, defaultBranch, bare,
      permissions: new Map([[owner, 'ADMIN']]), pulls: [], comments: [], nextNumber: 1, createdAt: new Date().toISOString(),
    };
    this.repos.set(`${owner}/${name}`.toLowerCase(), repo);
    return repo;
  }

  grant(repo: Repo, login: string, permission: Permission): void {
    repo.permissions.set(login, permission);
  }

  permission(repo: Repo, user: User | undefined): Permission | null {
    if (!user) return repo.private ? null : 'READ';
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

  addPull(repo: Repo, pr: Omit<PullRequest, 'id' | 'number' | 'state' | 'merged' | 'createdAt' | 'updatedAt' | 'closedAt'>): PullRequest {
    const now = new Date().toISOString();
    const pull: PullRequest = { ...pr, id: this.nextId(), number: repo.nextNumber++, state: 'open', merged: false, createdAt: now, updatedAt: now, closedAt: null };
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
