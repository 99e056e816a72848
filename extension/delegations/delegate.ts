// The delegation flow, as plain TypeScript: create the PR (one round trip with the
// form's fresh prefetched answer, else two), record the delegation, return at once,
// and send the job to the worker in the background (waiting out 503s). The VS Code
// glue only shows what this reports.
import { confirmationCode } from '../../shared/confirmation.js';
import type { GenerateCodeRequest } from '../../shared/protocol.js';
import { renderTaskMarkdown, type TaskFields, type TaskSelection } from '../../shared/taskMarkdown.js';
import type { SubmitResult } from '../../shared/webviewProtocol.js';
import type { GitHubClient } from '../github/client.js';
import { createDelegationPr } from '../github/createPr.js';
import type { PreparedRepo } from '../github/preparedRepo.js';
import type { ValidForm } from '../form/validation.js';
import { sendJob, type WorkerApi } from '../worker/client.js';
import { problemText, type SendProblem } from './sendProblem.js';
import type { Delegation, DelegationStore } from './model.js';

export interface DelegateDeps {
  github: GitHubClient;
  worker: () => WorkerApi | undefined;
  store: DelegationStore;
  branchPrefix: string;
  draft: boolean;
  /** GitHub's web address (settings: github.com or the Enterprise URL), for the PR body's link to TASK.md. */
  webUrl?: string;
  now?: () => number;
  log?: (message: string) => void;
  /** The preparing query's answer asked while the form was open (github/prefetch.ts); used only when fresh. */
  prepared?: PreparedRepo;
  /** The send ended without the worker accepting the job (offer Retry / Set Worker Token / Open Settings). */
  onSendProblem?: (d: Delegation, outcome: SendProblem) => void;
  /** The worker is busy: the job waits locally and is retried. */
  onQueuedLocally?: (d: Delegation, retryAfterSeconds: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface Delegated {
  result: SubmitResult;
  delegation: Delegation;
  /** Settles when the worker accepted the job or sending gave up; the user does not wait for it. */
  sending: Promise<void>;
}

export async function delegate(form: ValidForm, selection: TaskSelection | undefined, deps: DelegateDeps): Promise<Delegated> {
  const timestamp = (deps.now ?? Date.now)();
  const task: TaskFields = {
    title: form.title,
    objective: form.objective,
    constraints: form.constraints,
    acceptanceCriteria: form.acceptanceCriteria,
    ...(selection ? { selection } : {}),
  };
  const created = await createDelegationPr(
    {
      owner: form.owner,
      repo: form.repo,
      baseBranch: form.baseBranch,
      prTitle: form.prTitle,
      task,
      branchPrefix: deps.branchPrefix,
      draft: deps.draft,
      webUrl: deps.webUrl,
    },
    { client: deps.github, now: () => timestamp, log: deps.log, prepared: deps.prepared },
  );
  const code = confirmationCode(timestamp);
  const job: GenerateCodeRequest = {
    owner: form.owner,
    repo: form.repo,
    branch: created.branchName,
    prNumber: created.number,
    baseBranch: form.baseBranch,
    title: form.title,
    taskDescription: renderTaskMarkdown({ ...task, confirmationCode: code }),
    idempotencyKey: code,
    // For the worker's finish: mark a draft ready for review, and ask this user to review.
    draft: deps.draft,
    ...(created.viewerLogin ? { requestedBy: created.viewerLogin } : {}),
  };
  const delegation = await deps.store.upsert({
    id: code,
    owner: form.owner,
    repo: form.repo,
    branch: created.branchName,
    baseBranch: form.baseBranch,
    prNumber: created.number,
    prUrl: created.prUrl,
    title: form.title,
    taskCommitOid: created.taskCommitOid,
    state: 'queued',
    job,
    createdAt: timestamp,
    updatedAt: timestamp,
  });
  deps.log?.(`PR #${created.number} created on ${created.branchName} in ${created.roundTrips} round trips (${code})`);
  const sending = sendToWorker(delegation, deps);
  return {
    result: { prUrl: created.prUrl, number: created.number, branchName: created.branchName, confirmationCode: code },
    delegation,
    sending,
  };
}

/** Sends (or re-sends) a delegation's job; safe to repeat: the confirmation code is the idempotency key. */
export async function sendToWorker(
  d: Delegation,
  deps: Pick<DelegateDeps, 'worker' | 'store' | 'log' | 'onSendProblem' | 'onQueuedLocally' | 'sleep'>,
): Promise<void> {
  const worker = deps.worker();
  if (!worker) {
    const problem = 'No worker URL is configured (setting kiroDelegate.workerUrl).';
    const updated = await deps.store.patch(d.id, { sendFailed: true, problem });
    deps.onSendProblem?.(updated ?? d, { kind: 'no-worker', message: problem });
    return;
  }
  const outcome = await sendJob(worker, d.job, {
    sleep: deps.sleep,
    onWaiting: (seconds) => {
      void deps.store.patch(d.id, { problem: `Queued locally: the worker is busy; retrying in ${seconds} s.` });
      deps.onQueuedLocally?.(d, seconds);
    },
  });
  if (outcome.kind === 'accepted') {
    await deps.store.patch(d.id, { jobId: outcome.jobId, sendFailed: false, problem: undefined });
    deps.log?.(`worker accepted the job for PR #${d.prNumber} (job ${outcome.jobId}, ${outcome.position} ahead)`);
    return;
  }
  const problem = problemText(outcome);
  const updated = await deps.store.patch(d.id, { sendFailed: true, problem });
  deps.log?.(`sending PR #${d.prNumber} to the worker failed: ${problem}`);
  deps.onSendProblem?.(updated ?? d, outcome);
}
