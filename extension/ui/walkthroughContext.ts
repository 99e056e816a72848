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

/** The walkthrough's steps that each key completes (their ids in package.json). */
export const STEPS_OF: Record<string, readonly string[]> = {
  [WORKER_READY]: ['workerUrl', 'workerToken'],
  [GITHUB_READY]: ['github'],
  [HAS_DELEGATION]: ['firstDelegation'],
};
export const WALKTHROUGH_STEP_PREFIX = 'kiro-delegate.kiro-delegate#getStarted#';

const marked = new Set<string>();

/**
 * Sets a walkthrough key. VS Code registers walkthroughs lazily (when the Welcome page is
 * first used) and counts an `onContext:` key only when it turns true after that: a key
 * already true then never checks its step. So a key turning true also marks its steps
 * complete (welcome.markStepComplete, VS Code's own command; once per step and window).
 */
export async function setWalkthroughKey(key: string, value: boolean): Promise<void> {
  await vscode.commands.executeCommand('setContext', key, value);
  if (!value) return;
  for (const step of STEPS_OF[key] ?? []) {
    if (marked.has(step)) continue;
    marked.add(step);
    // An editor without the command (it is not API) still has the onContext events.
    await Promise.resolve(vscode.commands.executeCommand('welcome.markStepComplete', `${WALKTHROUGH_STEP_PREFIX}${step}`)).catch(() =>
      marked.delete(step),
    );
  }
}

/** Keeps GITHUB_READY and HAS_DELEGATION current; WORKER_READY is the status bar's. */
export function trackWalkthroughContext(services: Services): vscode.Disposable {
  let asked = 0;
  const github = async () => {
    const mine = ++asked;
    const known = await services.githubTokenKnown().catch(() => false);
    // Only the latest question sets the key (a slow silent sign-in must not undo a newer answer).
    if (mine === asked) await setWalkthroughKey(GITHUB_READY, known);
  };
  const delegations = () =>
    setWalkthroughKey(
      HAS_DELEGATION,
      services.store.all().some((d) => d.prNumber > 0),
    );
  void github();
  void delegations();
  return vscode.Disposable.from(
    services.onGitHubIdentity(() => void github()),
    services.store.onDidChange(() => void delegations()),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('kiroDelegate.githubEnterpriseUrl') && void github()),
  );
}
