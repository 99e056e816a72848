// A real bare git repository for the GitHub stand-in; refs and commits are real
// git objects made with plumbing, so the worker can clone, fetch and push them.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit, GitError } from '../../../worker-service/git/run.js';

export const ZERO_OID = '0000000000000000000000000000000000000000';

export interface Identity {
  name: string;
  email: string;
}

export interface FileAddition {
  path: string;
  /** Raw bytes or text of the file. */
  contents: Buffer | string;
}

export class BareRepo {
  constructor(readonly dir: string) {}

  async init(defaultBranch: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await runGit(['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`, this.dir]);
    await this.git(['config', 'http.receivepack', 'true']);
    await this.git(['config', 'uploadpack.allowAnySHA1InWant', 'true']);
  }

  git(args: string[], input?: string | Buffer, env?: NodeJS.ProcessEnv): Promise<string> {
    return runGit(args, { cwd: this.dir, input, env: { GIT_DIR: this.dir, ...env } });
  }

  /** The oid a ref points at, or null when it does not exist. */
  async resolve(ref: string): Promise<string | null> {
    try {
      return (await this.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim() || null;
    } catch (e) {
      if (GitError.is(e)) return null;
      throw e;
    }
  }

  async objectExists(oid: string): Promise<boolean> {
    try {
      await this.git(['cat-file', '-e', `${oid}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** Compare-and-swap: fails unless the ref currently points at `oldOid` (ZERO_OID = must not exist). */
  async updateRef(ref: string, newOid: string, oldOid: string): Promise<boolean> {
    try {
      await this.git(['update-ref', ref, newOid, oldOid]);
      return true;
    } catch (e) {
      if (GitError.is(e)) return false;
      throw e;
    }
  }

  async deleteRef(ref: string, oldOid?: string): Promise<boolean> {
    try {
      await this.git(['update-ref', '-d', ref, ...(oldOid ? [oldOid] : [])]);
      return true;
    } catch (e) {
      if (GitError.is(e)) return false;
      throw e;
    }
  }

  async refs(prefix = 'refs/heads/'): Promise<Map<string, string>> {
    const out = await this.git(['for-each-ref', '--format=%(refname) %(objectname)', prefix]);
    return new Map(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string]),
    );
  }

  /** Makes a commit on top of `parent` (or a root commit) adding/removing files; returns its oid. */
  async commit(opts: {
    parent: string | null;
    additions: FileAddition[];
    deletions?: string[];
    message: string;
    author: Identity;
    committer?: Identity;
  }): Promise<string> {
    const index = join(this.dir, `index-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      if (opts.parent) await this.git(['read-tree', opts.parent], undefined, env);
      else await this.git(['read-tree', '--empty'], undefined, env);
      for (const file of opts.additions) {
        const blob = (await this.git(['hash-object', '-w', '--stdin'], Buffer.from(file.contents))).trim();
        await this.git(['update-index', '--add', '--cacheinfo', `100644,${blob},${file.path}`], undefined, env);
      }
      for (const path of opts.deletions ?? []) await this.git(['update-index', '--force-remove', '--', path], undefined, env);
      const tree = (await this.git(['write-tree'], undefined, env)).trim();
      const committer = opts.committer ?? { name: 'GitHub', email: 'noreply@github.com' };
      const idEnv = {
        GIT_AUTHOR_NAME: opts.author.name,
        GIT_AUTHOR_EMAIL: opts.author.email,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
      };
      const parentArgs = opts.parent ? ['-p', opts.parent] : [];
      return (await this.git(['commit-tree', tree, ...parentArgs, '-F', '-'], opts.message, idEnv)).trim();
    } finally {
      await rm(index, { force: true });
    }
  }

  async readFile(rev: string, path: string): Promise<string | null> {
    try {
      return await this.git(['show', `${rev}:${path}`]);
    } catch (e) {
      if (GitError.is(e)) return null;
      throw e;
    }
  }

  async blobSha(rev: string, path: string): Promise<string | null> {
    try {
      return (await this.git(['rev-parse', `${rev}:${path}`])).trim();
    } catch {
      return null;
    }
  }

  /** Commit oids from `to` back to (not including) `from`, newest first. */
  async log(range: string): Promise<{ oid: string; subject: string; author: string }[]> {
    const out = await this.git(['log', '--format=%H%x00%s%x00%an', range]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [oid = '', subject = '', author = ''] = l.split('\0');
        return { oid, subject, author };
      });
  }
}
