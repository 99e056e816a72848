// What the Kiro view says about a delegation, as plain text (tested without VS Code):
// queued — N ahead · preparing · running m:ss · pushing · pushed · no changes ·
// failed — reason · cancelled · PR merged / closed.
import type { Delegation } from './model.js';

export function elapsed(fromIso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function describeState(d: Delegation, now = Date.now()): string {
  if (d.sendFailed) return 'not sent';
  switch (d.state) {
    case 'creating':
      return 'creating';
    case 'queued':
      if (!d.jobId) return 'sending';
      return d.position ? `queued — ${d.position} ahead` : 'queued — next';
    case 'running':
      if (d.jobState === 'preparing') return 'preparing';
      if (d.jobState === 'pushing') return 'pushing';
      return d.startedAt ? `running ${elapsed(d.startedAt, now)}` : 'running';
    case 'pushed':
      return 'pushed';
    case 'no-changes':
      return 'no changes';
    case 'failed':
      return d.problem ? `failed — ${d.problem}` : 'failed';
    case 'cancelled':
      return 'cancelled';
    case 'closed':
      return d.merged ? 'PR merged' : 'PR closed';
    default: {
      const never: never = d.state;
      return never;
    }
  }
}
