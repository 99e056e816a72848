// The context keys the "Get started" walkthrough's steps complete on (package.json
// contributes.walkthroughs, completionEvents `onContext:`): each is set from the real
// event, not from a click on the step's button.
import * as vscode from 'vscode';
import type { Services } from '../services.js';

/** The worker answered GET /health with a valid credential (set by the status bar's poll). */
export const WORKER_READY = 'kiroDelegate.workerReady';
/** A GitHub token is known: a VS Code sign-in session or a pasted token. */
export const GITHUB_READY = 'kiroDelegate.githubReady';
/** A delegation's pull request exists (this window's, or one the worker listed from elsewhere). */
export const HAS_DELEGATION = 'kiroDelegate.hasDelegation';

const setContext = (key: string, value: boolean) => vscode.commands.executeCommand('setContext', key, value);

/** Keeps GITHUB_READY and HAS_DELEGATION current; WORKER_READY is the status bar's. */
export function trackWalkthroughContext(services: Services): vscode.Disposable {
  let asked = 0;
  const github = async () => {
    const mine = ++asked;
    const known = await services.githubTokenKnown().catch(() => false);
    // Only the latest question sets the key (a slow silent sign-in must not undo a newer answer).
    if (mine === asked) await setContext(GITHUB_READY, known);
  };
  const delegations = () => setContext(HAS_DELEGATION, services.store.all().some((d) => d.prNumber > 0));
  void github();
  void delegations();
  const subs = [
    services.onGitHubIdentity(() => void github()),
    services.store.onDidChange(() => void delegations()),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('kiroDelegate.githubEnterpriseUrl') && void github()),
  ];
  return vscode.Disposable.from(...subs);
}
