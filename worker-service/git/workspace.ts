// Checkouts for jobs: one bare mirror per repository (fetched, never cloned again), and one
// warm worktree per slot and repository, reset to the job's branch for each job. The push
// credential (the job's own, per call) reaches git only in fetch and push, through
// GIT_CONFIG_* variables: never in a URL, argv, a log, the mirror's config or the agent's environment.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobChanges } from '../../shared/protocol.js';
import { statePath } from '../jobs/paths.js';
import { parseNumstat } from './numstat.js';
import { runGit, GitError } from './run.js';
import { credentialConfig, SAFE_CONFIG } from './safeConfig.js';
import { PushConflictError } from '../errors.js';

export interface Checkout {
  dir: string;
  /** The branch head the job starts from. */
  startSha: string;
  /** How long the fetch took, of the whole preparation. */
  fetchMs?: number;
}

/** Serialises work per key (fetches into one mirror must not race on its locks). */
class KeyedLock {
  private tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }
}

export class Workspaces {
  private readonly lock = new KeyedLock();
  /**
   * Worktrees known to match their HEAD exactly (no change, nothing untracked or
   * ignored), made so after the last job ended. Nothing writes a tree between
   * jobs (the sandbox dies with its job), so the next job only has to move it to
   * its own commit, not scan and reset 20,000 files on the dispatch path.
   */
  private readonly clean = new Set<string>();

  constructor(
    private readonly stateDir: string,
    private readonly gitBaseUrl: string,
  ) {}

  remoteUrl(owner: string, repo: string): string {
    return `${this.gitBaseUrl}/${owner}/${repo}.git`;
  }

  mirrorDir(owner: string, repo: string): string {
    return statePath(this.stateDir, 'repos', owner.toLowerCase(), `${repo.toLowerCase()}.git`);
  }

  slotDir(slotId: number, owner: string, repo: string): string {
    return statePath(this.stateDir, 'work', `slot-${slotId}`, `${owner.toLowerCase()}__${repo.toLowerCase()}`);
  }

  private async ensureMirror(owner: string, repo: string): Promise<string> {
    const dir = this.mirrorDir(owner, repo);
    if (!existsSync(join(dir, 'HEAD'))) {
      await mkdir(dir, { recursive: true });
      await runGit(['init', '--bare', '--quiet', dir]);
      await runGit(['remote', 'add', 'origin', this.remoteUrl(owner, repo)], { cwd: dir });
    }
    return dir;
  }

  /** Fetches one branch into the mirror; returns its head sha. */
  async fetchBranch(owner: string, repo: string, branch: string, token?: string): Promise<string> {
    return this.lock.run(this.mirrorDir(owner, repo), async () => {
      const dir = await this.ensureMirror(owner, repo);
      await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', 'origin', `+refs/heads/${branch}:refs/heads/${branch}`], {
        cwd: dir,
        config: { ...SAFE_CONFIG, ...credentialConfig({ token }) },
      });
      return (await runGit(['rev-parse', '--verify', `refs/heads/${branch}^{commit}`], { cwd: dir })).trim();
    });
  }

  /** A clean checkout of `branch` for `slotId`: the slot's warm worktree reset, or a new one. */
  async prepare(slotId: number, owner: string, repo: string, branch: string, token?: string): Promise<Checkout> {
    const t0 = performance.now();
    const startSha = await this.fetchBranch(owner, repo, branch, token);
    const fetchMs = performance.now() - t0;
    const dir = this.slotDir(slotId, owner, repo);
    // The tree is one slot's, but the health monitor may be recycling it: one thing at a time per tree.
    return this.lock.run(dir, async () => ({ ...(await this.moveTree(slotId, owner, repo, startSha)), fetchMs }));
  }

  private async moveTree(slotId: number, owner: string, repo: string, startSha: string): Promise<Checkout> {
    const dir = this.slotDir(slotId, owner, repo);
    const mirror = this.mirrorDir(owner, repo);
    const wasClean = this.clean.has(dir);
    this.clean.delete(dir); // from here on the tree is the job's
    if (wasClean && existsSync(join(dir, '.git'))) {
      try {
        // A two-way checkout touches only the files that differ between the two commits.
        await runGit(['checkout', '--quiet', '--detach', startSha], { cwd: dir, config: SAFE_CONFIG });
        return { dir, startSha };
      } catch (e) {
        if (!GitError.is(e)) throw e; // otherwise the full reset below
      }
    }
    if (existsSync(join(dir, '.git'))) {
      try {
        await runGit(['reset', '--quiet', '--hard', startSha], { cwd: dir, config: SAFE_CONFIG });
        await runGit(['clean', '-ffdxq'], { cwd: dir, config: SAFE_CONFIG });
        return { dir, startSha };
      } catch (e) {
        if (!GitError.is(e)) throw e;
        await this.removeTree(dir, mirror); // damaged by the last agent: start over
      }
    }
    await mkdir(join(dir, '..'), { recursive: true });
    await this.lock.run(mirror, () =>
      runGit(['worktree', 'add', '--quiet', '--force', '--detach', dir, startSha], { cwd: mirror, config: SAFE_CONFIG }),
    );
    return { dir, startSha };
  }

  /**
   * After a job: leaves the tree exactly at its HEAD (reset, then every untracked
   * and ignored file removed) so that the next job starts with a cheap checkout.
   * A tree the agent damaged beyond that is removed.
   */
  async settle(slotId: number, owner: string, repo: string): Promise<void> {
    const dir = this.slotDir(slotId, owner, repo);
    await this.lock.run(dir, async () => {
      if (this.clean.has(dir) || !existsSync(join(dir, '.git'))) return;
      try {
        await runGit(['reset', '--quiet', '--hard', 'HEAD'], { cwd: dir, config: SAFE_CONFIG });
        await runGit(['clean', '-ffdxq'], { cwd: dir, config: SAFE_CONFIG });
        this.clean.add(dir);
      } catch (e) {
        if (!GitError.is(e)) throw e;
        await this.removeTree(dir, this.mirrorDir(owner, repo));
      }
    });
  }

  /** Removes a slot's worktree for a repository (recycling, or after damage). */
  async discard(slotId: number, owner: string, repo: string): Promise<void> {
    const dir = this.slotDir(slotId, owner, repo);
    await this.lock.run(dir, () => this.removeTree(dir, this.mirrorDir(owner, repo)));
  }

  private async removeTree(dir: string, mirror: string): Promise<void> {
    this.clean.delete(dir);
    await rm(dir, { recursive: true, force: true });
    if (existsSync(mirror)) await this.lock.run(mirror, () => runGit(['worktree', 'prune'], { cwd: mirror }).catch(() => ''));
  }

  /** Removes every warm worktree a slot holds. */
  async discardSlot(slotId: number): Promise<void> {
    const slotRoot = statePath(this.stateDir, 'work', `slot-${slotId}`);
    for (const dir of [...this.clean]) if (dir.startsWith(`${slotRoot}/`)) this.clean.delete(dir);
    await rm(slotRoot, { recursive: true, force: true });
    const reposDir = join(this.stateDir, 'repos');
    if (!existsSync(reposDir)) return;
    for (const owner of await readdir(reposDir)) {
      for (const repo of await readdir(join(reposDir, owner))) {
        const mirror = join(reposDir, owner, repo);
        await this.lock.run(mirror, () => runGit(['worktree', 'prune'], { cwd: mirror }).catch(() => ''));
      }
    }
  }

  /**
   * A repository the agent made inside its tree would be committed as a gitlink;
   * it is never pushed (the next job's git would look into it, and its config is the
   * agent's). Gitlinks the branch already had (real submodules) stay.
   */
  private async unstageNewGitlinks(dir: string, startSha: string): Promise<void> {
    const had = new Set(
      (await runGit(['ls-tree', '-r', '-z', startSha], { cwd: dir, config: SAFE_CONFIG }))
        .split('\0')
        .filter((l) => l.startsWith('160000 '))
        .map((l) => l.split('\t')[1]),
    );
    const now = (await runGit(['ls-files', '-s', '-z'], { cwd: dir, config: SAFE_CONFIG }))
      .split('\0')
      .filter((l) => l.startsWith('160000 '))
      .map((l) => l.split('\t')[1] ?? '');
    const fresh = now.filter((p) => p && !had.has(p));
    if (fresh.length > 0) await runGit(['rm', '--cached', '-f', '--quiet', '-r', '--', ...fresh], { cwd: dir, config: SAFE_CONFIG });
  }

  /**
   * Commits whatever the agent changed (and keeps commits it made itself), then
   * pushes to the job's branch only. A push rejected because the branch moved is
   * retried once after fetching and rebasing. Returns null when nothing changed.
   * `beforePush(onto)` runs right before each `git push` starts, with the commit the
   * pushed work sits on (the job's start, or the moved branch head after a rebase);
   * when it throws, nothing is pushed and publish rejects with its error.
   */
  async publish(
    checkout: Checkout,
    opts: {
      owner: string;
      repo: string;
      branch: string;
      message: string;
      author: { name: string; email: string };
      exclude?: string[];
      token?: string;
      beforePush?: (onto: string) => void | Promise<void>;
    },
  ): Promise<string | null> {
    const { dir } = checkout;
    const ident = {
      GIT_AUTHOR_NAME: opts.author.name,
      GIT_AUTHOR_EMAIL: opts.author.email,
      GIT_COMMITTER_NAME: opts.author.name,
      GIT_COMMITTER_EMAIL: opts.author.email,
    };
    const pathspec = ['--', '.', ...(opts.exclude ?? []).map((p) => `:(exclude)${p}`)];
    // One scan tells whether anything changed (ignored files included); the common no-change case stops here.
    const dirty =
      (
        await runGit(['status', '--porcelain', '-z', '--untracked-files=all', '--ignored', '--ignore-submodules=all', ...pathspec], {
          cwd: dir,
          config: SAFE_CONFIG,
        })
      ).length > 0;
    if (!dirty) {
      // Untouched: apart from the files the service wrote, the tree is exactly its commit, and stays so.
      for (const p of opts.exclude ?? []) await rm(join(dir, p), { force: true });
      this.clean.add(dir);
    }
    if (dirty) {
      await runGit(['add', '--all', ...pathspec], { cwd: dir, config: SAFE_CONFIG });
      await this.unstageNewGitlinks(dir, checkout.startSha);
      const staged = (await runGit(['diff', '--cached', '--name-only'], { cwd: dir, config: SAFE_CONFIG })).trim();
      if (staged) await runGit(['commit', '--quiet', '--no-verify', '-m', opts.message], { cwd: dir, config: SAFE_CONFIG, env: ident });
    }
    const head = (await runGit(['rev-parse', 'HEAD'], { cwd: dir })).trim();
    if (head === checkout.startSha) return null;

    const remote = this.remoteUrl(opts.owner, opts.repo);
    const refspec = `HEAD:refs/heads/${opts.branch}`;
    const netConfig = { ...SAFE_CONFIG, ...credentialConfig({ token: opts.token }) };
    await opts.beforePush?.(checkout.startSha);
    try {
      await runGit(['push', '--quiet', '--no-verify', remote, refspec], { cwd: dir, config: netConfig });
      return head;
    } catch (e) {
      if (!GitError.is(e) || !/rejected|non-fast-forward|fetch first|stale info/i.test(e.stderr)) throw e;
    }
    // The branch moved (someone pushed while the agent worked): rebase onto it and try once more.
    const moved = await this.fetchBranch(opts.owner, opts.repo, opts.branch, opts.token);
    try {
      await runGit(['rebase', '--quiet', moved], { cwd: dir, config: SAFE_CONFIG, env: ident });
    } catch (e) {
      await runGit(['rebase', '--abort'], { cwd: dir }).catch(() => '');
      throw new PushConflictError(
        `the branch ${opts.branch} moved while the agent worked and the agent's changes do not rebase cleanly onto it`,
        e,
      );
    }
    await opts.beforePush?.(moved);
    await runGit(['push', '--quiet', '--no-verify', remote, refspec], { cwd: dir, config: netConfig });
    return (await runGit(['rev-parse', 'HEAD'], { cwd: dir })).trim();
  }

  /**
   * The commit among the last `depth` of `ref` whose message carries the trailer
   * `Kiro-Job: <jobId>`, or null: how a job run again after its host died finds
   * out that the first run had pushed already.
   */
  async jobCommit(checkout: Checkout, ref: string, jobId: string, depth = 200): Promise<string | null> {
    const out = await runGit(['log', `--max-count=${depth}`, '--format=%H %(trailers:key=Kiro-Job,valueonly,separator=%x2C)', ref], {
      cwd: checkout.dir,
      config: SAFE_CONFIG,
    });
    for (const line of out.split('\n')) {
      const [sha, ids] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
      if (ids.split(',').some((id) => id.trim() === jobId)) return sha;
    }
    return null;
  }

  /**
   * The files changed between two commits of a checkout, counted by `git diff --numstat`
   * (renames found): totals over all of them, and the first MAX_LISTED_CHANGES listed.
   */
  async diffStat(checkout: Checkout, fromSha: string, toSha: string): Promise<JobChanges> {
    const out = await runGit(['diff', '--numstat', '-z', '-M', '--no-ext-diff', '--no-textconv', fromSha, toSha, '--'], {
      cwd: checkout.dir,
      config: SAFE_CONFIG,
    });
    return parseNumstat(out);
  }
}
