// What the Kiro view says about a delegation, as plain text (tested without VS Code):
// queued — N ahead · preparing · running m:ss · pushing · pushed · no changes ·
// failed — reason · cancelled · PR merged / closed.
import type { Delegation } from './model.js';

export function elapsed(fromIso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function describeState(d: Delegation, now = Date.now()): string {
  const state = describeRoundState(d, now);
  return d.round && d.round > 1 ? `round ${d.round} · ${state}` : state;
}

/** Every round, oldest first, for the item's tooltip. */
export function describeRounds(d: Delegation, now = Date.now()): string[] {
  const rounds = d.rounds ?? [];
  return rounds.map((r, i) => {
    const last = i === rounds.length - 1;
    const what = last ? describeRoundState(d, now) : r.state === 'pushed' ? `pushed ${r.headOid?.slice(0, 7) ?? ''}`.trim() : r.state;
    return `${r.round === 1 ? 'Task' : `Follow-up ${r.round - 1}`}: ${what}`;
  });
}

function describeRoundState(d: Delegation, now: number): string {
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
