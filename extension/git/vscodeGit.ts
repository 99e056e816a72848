// The parts of the built-in vscode.git extension's API we use: remotes, the
// current branch, and whether a file has unsaved, uncommitted or unpushed changes.
import * as vscode from 'vscode';
import { parseGitHubRemote, pickRemote, type RemoteRepo } from './remote.js';

interface GitChange {
  uri: vscode.Uri;
}
interface GitRepository {
  rootUri: vscode.Uri;
  state: {
    HEAD?: { name?: string; ahead?: number; upstream?: { name: string } };
    remotes: { name: string; fetchUrl?: string; pushUrl?: string }[];
    workingTreeChanges: GitChange[];
    indexChanges: GitChange[];
    onDidChange: vscode.Event<void>;
  };
  checkout(ref: string): Promise<void>;
  fetch(remote?: string, ref?: string): Promise<void>;
}
interface GitApi {
  state: 'uninitialized' | 'initialized';
  onDidChangeState: vscode.Event<'uninitialized' | 'initialized'>;
  onDidOpenRepository: vscode.Event<GitRepository>;
  repositories: GitRepository[];
  getRepository(uri: vscode.Uri): GitRepository | null;
}

/** Resolves when `event` fires, after `ms`, or when `token` is cancelled, whichever comes first. */
function eventOrTimeout<T>(event: vscode.Event<T>, ms: number, token?: vscode.CancellationToken): Promise<void> {
  return new Promise((resolve) => {
    if (token?.isCancellationRequested) return resolve();
    const sub = event(() => done());
    const cancelled = token?.onCancellationRequested(() => done());
    const timer = setTimeout(() => done(), ms);
    function done() {
      clearTimeout(timer);
      sub.dispose();
      cancelled?.dispose();
      resolve();
    }
  });
}

/** How a caller follows workspaceRepo's waits on the git extension. */
export interface GitWait {
  /** Told before each wait, in words for the user. */
  onWait?: (what: string) => void;
  /** Stop waiting: what is known so far is returned. */
  token?: vscode.CancellationToken;
}

async function gitApi(): Promise<GitApi | undefined> {
  const ext = vscode.extensions.getExtension<{ getAPI(v: 1): GitApi }>('vscode.git');
  if (!ext) return undefined;
  const exports = ext.isActive ? ext.exports : await ext.activate();
  return exports.getAPI(1);
}

export interface WorkspaceRepoInfo {
  remote?: RemoteRepo;
  branch?: string;
  repository?: GitRepository;
}

export async function workspaceRepo(uri?: vscode.Uri, wait: GitWait = {}): Promise<WorkspaceRepoInfo> {
  const api = await gitApi().catch(() => undefined);
  if (!api) return {};
  // Right after a window opens, git may still be discovering repositories.
  if (api.state !== 'initialized') {
    wait.onWait?.('waiting for Git to start…');
    await eventOrTimeout(api.onDidChangeState, 5_000, wait.token);
  }
  if (api.repositories.length === 0 && (vscode.workspace.workspaceFolders?.length ?? 0) > 0) {
    wait.onWait?.('waiting for Git to open the repository…');
    await eventOrTimeout(api.onDidOpenRepository, 3_000, wait.token);
  }
  const repository = (uri && api.getRepository(uri)) || api.repositories[0];
  if (!repository) return {};
  // A repository just opened has no remotes or HEAD until its first status run.
  if (repository.state.remotes.length === 0 || !repository.state.HEAD) {
    wait.onWait?.("reading the repository's remotes and branch…");
    await eventOrTimeout(repository.state.onDidChange, 3_000, wait.token);
  }
  const remote = pickRemote(repository.state.remotes);
  const url = remote?.fetchUrl ?? remote?.pushUrl;
  return { remote: url ? parseGitHubRemote(url) : undefined, branch: repository.state.HEAD?.name, repository };
}

/**
 * workspaceRepo for a command the user waits on: a notification shows only once it
 * has to wait on the git extension (up to 11 s right after a window opens), and its
 * Cancel goes on without what git has not told yet.
 */
export async function workspaceRepoWithProgress(uri: vscode.Uri | undefined, title: string): Promise<WorkspaceRepoInfo> {
  const cancel = new vscode.CancellationTokenSource();
  let latest: string | undefined;
  let report: ((what: string) => void) | undefined;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const onWait = (what: string) => {
    const first = latest === undefined;
    latest = what;
    if (report) return report(what);
    if (!first) return; // the notification is on its way: it shows the latest
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => cancel.cancel());
      report = (m) => progress.report({ message: m });
      report(latest ?? what);
      return finished;
    });
  };
  try {
    return await workspaceRepo(uri, { onWait, token: cancel.token });
  } finally {
    finish();
    cancel.dispose();
  }
}

/** Why the agent will not see what the editor shows: it works from the remote base branch. */
export function changeWarnings(info: WorkspaceRepoInfo, document: vscode.TextDocument | undefined, baseBranch: string): string[] {
  const warnings: string[] = [];
  const name = document ? vscode.workspace.asRelativePath(document.uri, false) : undefined;
  if (document?.isDirty)
    warnings.push(`${name} has unsaved changes. The agent works from the remote "${baseBranch}" branch and will not see them.`);
  const repo = info.repository;
  if (repo && document) {
    const same = (c: GitChange) => c.uri.toString() === document.uri.toString();
    if (repo.state.workingTreeChanges.some(same) || repo.state.indexChanges.some(same))
      warnings.push(`${name} has uncommitted changes that the agent will not see.`);
  }
  if (repo?.state.HEAD?.ahead)
    warnings.push(`Your branch has ${repo.state.HEAD.ahead} unpushed commit(s); the agent starts from the remote "${baseBranch}".`);
  return warnings;
}

/** Fetches and checks out a branch in the workspace's repository. */
export async function checkoutBranch(branch: string): Promise<void> {
  const info = await workspaceRepo();
  if (!info.repository) throw new Error('No git repository is open in this window.');
  const remote = pickRemote(info.repository.state.remotes)?.name ?? 'origin';
  await info.repository.fetch(remote, branch);
  await info.repository.checkout(branch);
}
