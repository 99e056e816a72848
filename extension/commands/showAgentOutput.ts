// Kiro: Show Agent Output — the job's terminal (live while it runs).
import { showAgentOutput as openTerminal } from '../ui/agentTerminal.js';
import { chooseDelegation, pickDelegation, requireWorker, type Command } from './command.js';

export const showAgentOutput: Command = {
  id: 'kiroDelegate.showAgentOutput',
  handler:
    ({ services }) =>
    async (arg: unknown) => {
      const d = pickDelegation(services, arg) ?? (await chooseDelegation(services, 'Show Agent Output', (x) => Boolean(x.jobId)));
      const api = d && requireWorker(services);
      if (d && api) openTerminal(d, api);
    },
};
