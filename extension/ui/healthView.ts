// What the status bar says about the worker pool, as plain data (tested without VS Code).
import type { HealthOutcome } from '../worker/client.js';

export interface HealthView {
  text: string;
  tooltip: string;
  severity: 'normal' | 'warning' | 'error';
}

export function describeHealth(outcome: HealthOutcome | { kind: 'not-configured' }): HealthView {
  switch (outcome.kind) {
    case 'not-configured':
      return { text: '$(circle-slash) Kiro', tooltip: 'No Kiro worker configured. Set "kiroDelegate.workerUrl".', severity: 'warning' };
    case 'unreachable':
      return { text: '$(error) Kiro offline', tooltip: `${outcome.message}\n\nClick for details.`, severity: 'error' };
    case 'unauthorized':
      return { text: '$(lock) Kiro token', tooltip: `${outcome.message} Run "Kiro: Set Worker Token".`, severity: 'error' };
    case 'ok': {
      const h = outcome.health;
      const busy = h.slots.filter((s) => s.state === 'busy').length;
      const restarting = h.slots.filter((s) => s.state === 'restarting').length;
      const queued = h.queued > 0 ? ` · ${h.queued} queued` : '';
      const slots = h.slots.map((s) => `- slot ${s.id}: ${s.state}${s.jobId ? ` (job ${s.jobId.slice(0, 8)})` : ''}`).join('\n');
      const agent = h.agent.found ? '' : `\n\n⚠ ${h.agent.message}`;
      // Operators and users both see when agents run unconfined (or with weaker limits).
      const sandbox = !h.sandbox ? '' : h.sandbox.enabled
        ? `\n\nAgents run sandboxed (network: ${h.sandbox.network}, limits: ${h.sandbox.limits})${h.sandbox.warning ? `\n⚠ ${h.sandbox.warning}` : ''}`
        : `\n\n⚠ ${h.sandbox.warning ?? 'agents run unconfined'}`;
      const severity = !h.agent.found || restarting > 0 || h.sandbox?.enabled === false ? 'warning' : busy >= h.capacity ? 'warning' : 'normal';
      return {
        text: `$(${busy > 0 ? 'sync~spin' : 'hubot'}) Kiro ${busy}/${h.capacity} busy${queued}`,
        tooltip: `Kiro worker ${h.version}${h.accepting ? '' : ' (shutting down)'}\n\n${slots}${agent}${sandbox}`,
        severity,
      };
    }
  }
}
