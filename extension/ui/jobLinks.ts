// The URI handler: a job link from GitHub opens the job's agent terminal (the delegation's,
// or, for a job this window does not follow, the worker's record of it) and refreshes the
// Delegations view, where a round started on GitHub then shows.
import * as vscode from 'vscode';
import type { Services } from '../services.js';
import { delegationOfJob, jobIdFromLinkPath } from '../worker/jobLink.js';
import { showAgentOutput } from './agentTerminal.js';

export function jobLinkHandler(services: Services): vscode.UriHandler {
  return {
    handleUri: async (uri) => {
      const jobId = jobIdFromLinkPath(uri.path);
      if (!jobId) {
        void vscode.window.showWarningMessage(
          `Kiro: this link (${uri.path}) names no job; links look like vscode://kiro-delegate.kiro-delegate/job/<job id>.`,
        );
        return;
      }
      const api = services.worker();
      if (!api) {
        void vscode.window
          .showWarningMessage('Kiro: no worker configured, so the job cannot be shown. Set "kiroDelegate.workerUrl".', 'Open Settings')
          .then((pick) => pick && vscode.commands.executeCommand('workbench.action.openSettings', 'kiroDelegate.workerUrl'));
        return;
      }
      await services.syncFromWorker();
      const known = delegationOfJob(services.store.all(), jobId);
      if (known) return showAgentOutput(known, api);
      const job = await api.job(jobId);
      if (!job) {
        void vscode.window.showWarningMessage(
          `Kiro: the worker has no job ${jobId} that you may see (finished jobs are kept for KIRO_JOB_RETENTION_DAYS; sign in with the GitHub account that may read the repository).`,
        );
        return;
      }
      showAgentOutput(
        { id: job.jobId, jobId: job.jobId, prNumber: job.prNumber, owner: job.owner, repo: job.repo, branch: job.branch },
        api,
      );
    },
  };
}
