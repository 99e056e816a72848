// What the status bar and the pool picker say about the worker pool, as plain data
// (tested without VS Code). A fleet (workers sharing a queue on Redis) adds its hosts.
import type { HealthOutcome } from '../worker/client.js';
import { compareProtocol, protocolProblem } from '../worker/protocolCompat.js';
import type { HostHealth, PoolHealth, PoolSlots, SlotHealth } from '../../shared/protocol.js';

export interface HealthView {
  text: string;
  tooltip: string;
  severity: 'normal' | 'warning' | 'error';
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "just now", "12 s ago", "3 min ago", "2 h ago": how long since a host was last seen (a clock ahead of ours: "just now"). */
export function ago(iso: string, now: number): string {
  const s = Math.floor((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return 'at an unknown time';
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** One host of a fleet: `host-a: 1/2 busy · 0.1.0 · seen 2 s ago · draining`. */
export function describeHost(h: HostHealth, now: number): string {
  return `${h.id}: ${h.busy}/${h.slots} busy · ${h.version} · seen ${ago(h.lastSeen, now)}${h.accepting ? '' : ' · draining'}`;
}

/** What a host's slots are doing, for its tooltip line: ` — jobs c061bf1a, d096eedd; slot 1 restarting` (nothing when all are idle). */
function hostActivity(slots: readonly SlotHealth[]): string {
  const jobs = slots.filter((s) => s.jobId).map((s) => (s.jobId ?? '').slice(0, 8));
  const other = slots.filter((s) => !s.jobId && s.state !== 'idle').map((s) => `slot ${s.id} ${s.state}`);
  const parts = [...(jobs.length ? [`${jobs.length === 1 ? 'job' : 'jobs'} ${jobs.join(', ')}`] : []), ...other];
  return parts.length ? ` — ${parts.join('; ')}` : '';
}

/** A slot's name: `slot 0` on a single worker, `host-a slot 0` in a fleet (slot ids repeat across hosts). */
export const slotName = (s: SlotHealth): string => (s.host ? `${s.host} slot ${s.id}` : `slot ${s.id}`);

export function describeHealth(outcome: HealthOutcome | { kind: 'not-configured' }, now = Date.now()): HealthView {
  switch (outcome.kind) {
    case 'not-configured':
      return { text: '$(circle-slash) Kiro', tooltip: 'No Kiro worker configured. Set "kiroDelegate.workerUrl".', severity: 'warning' };
    case 'unreachable':
      return { text: '$(error) Kiro offline', tooltip: `${outcome.message}\n\nClick for details.`, severity: 'error' };
    case 'unauthorized':
      // The client's message says what to do (set the worker token, sign in to GitHub, agree to plain HTTP…).
      if (outcome.code)
        return {
          text: outcome.code === 'UNAUTHORIZED' ? '$(lock) Kiro token' : '$(lock) Kiro sign-in',
          tooltip: outcome.message,
          severity: 'error',
        };
      return { text: '$(lock) Kiro token', tooltip: `${outcome.message} Run "Kiro: Set Worker Token".`, severity: 'error' };
    case 'ok': {
      const h = outcome.health;
      const busy = h.slots.filter((s) => s.state === 'busy').length;
      const restarting = h.slots.filter((s) => s.state === 'restarting').length;
      const queued = h.queued > 0 ? ` · ${h.queued} queued` : '';
      const hostCount = h.hosts ? ` · ${plural(h.hosts.length, 'host')}` : '';
      const slotLine = (s: SlotHealth) => `- ${slotName(s)}: ${s.state}${s.jobId ? ` (job ${s.jobId.slice(0, 8)})` : ''}`;
      // A fleet lists a line per host, its running jobs on it (a tooltip of every slot of
      // twenty hosts would not fit); the pool picker has every slot.
      const hostIds = new Set(h.hosts?.map((x) => x.id));
      const fleet = !h.hosts
        ? ''
        : `Fleet on Redis: ${plural(h.hosts.length, 'host')}, ${plural(h.capacity, 'slot')}\n${[...h.hosts]
            .sort((a, b) => a.id.localeCompare(b.id))
            .map((x) => `- ${describeHost(x, now)}${hostActivity(h.slots.filter((s) => s.host === x.id))}`)
            .join('\n')}`;
      const slots = !h.hosts
        ? h.slots.map(slotLine).join('\n')
        : h.slots
            .filter((s) => !s.host || !hostIds.has(s.host))
            .map((s) => `\n${slotLine(s)}`)
            .join('');
      // Which agent CLI the worker runs (its preset and version), or why it cannot.
      const agentName = h.agent.preset && h.agent.preset !== 'custom' ? h.agent.preset : h.agent.command;
      const agent = h.agent.found ? `\n\nAgent: ${agentName}${h.agent.version ? ` (${h.agent.version})` : ''}` : `\n\n⚠ ${h.agent.message}`;
      // Operators and users both see when agents run unconfined (or with weaker limits).
      const sandbox = !h.sandbox
        ? ''
        : h.sandbox.enabled
          ? `\n\nAgents run sandboxed (network: ${h.sandbox.network}, limits: ${h.sandbox.limits})${h.sandbox.warning ? `\n⚠ ${h.sandbox.warning}` : ''}`
          : `\n\n⚠ ${h.sandbox.warning ?? 'agents run unconfined'}`;
      // A worker older or newer than this extension understands: said first, before anything fails.
      const mismatch = protocolProblem(compareProtocol(h.protocol));
      const severity =
        mismatch || !h.agent.found || restarting > 0 || h.sandbox?.enabled === false
          ? 'warning'
          : busy >= h.capacity
            ? 'warning'
            : 'normal';
      return {
        text: `$(${mismatch ? 'warning' : busy > 0 ? 'sync~spin' : 'hubot'}) Kiro ${busy}/${h.capacity} busy${queued}${hostCount}`,
        tooltip: `${mismatch ? `⚠ ${mismatch}\n\n` : ''}Kiro worker ${h.version}${h.accepting ? '' : ' (shutting down)'}\n\n${fleet}${slots}${agent}${sandbox}`,
        severity,
      };
    }
  }
}

/**
 * The health after a `slots` event of the live stream: the event's pool replaces the
 * slots, counts and (in a fleet) hosts. An event without `hosts` keeps the ones known,
 * so a bar that says "3 hosts" does not flicker; the next GET /health settles it.
 */
export function applySlots(health: PoolHealth, pool: PoolSlots): PoolHealth {
  const { hosts, ...counts } = pool;
  return { ...health, ...counts, ...(hosts ? { hosts } : {}) };
}

export interface PoolPickItem {
  /** A separator (a heading) or a row; a row with a job opens that job's agent output. */
  kind: 'separator' | 'item';
  label: string;
  description?: string;
  detail?: string;
  jobId?: string;
}

/**
 * The "Show Worker Pool" picker's rows for a healthy worker: a heading, then each
 * slot; in a fleet, one heading per host (with its busy count, version, last seen and
 * whether it drains) above its slots. `time` formats a slot's `since`.
 */
export function poolPickItems(
  h: PoolHealth,
  now = Date.now(),
  time: (iso: string) => string = (iso) => new Date(iso).toLocaleTimeString(),
): PoolPickItem[] {
  const slot = (s: SlotHealth): PoolPickItem => ({
    kind: 'item',
    label: `$(server) ${s.host ? `${s.host} · ` : ''}Slot ${s.id}: ${s.state}`,
    description: s.jobId ?? '',
    detail: `since ${time(s.since)}${s.jobId ? " · pick to show the agent's output" : ''}`,
    ...(s.jobId ? { jobId: s.jobId } : {}),
  });
  const items: PoolPickItem[] = [
    {
      kind: 'separator',
      label: `Worker ${h.version}: ${h.running}/${h.capacity} busy, ${h.queued} queued${h.hosts ? `, ${plural(h.hosts.length, 'host')}` : ''}`,
    },
  ];
  if (!h.hosts) return [...items, ...h.slots.map(slot)];
  const known = new Set(h.hosts.map((x) => x.id));
  for (const host of [...h.hosts].sort((a, b) => a.id.localeCompare(b.id))) {
    items.push({ kind: 'separator', label: describeHost(host, now) });
    items.push(...h.slots.filter((s) => s.host === host.id).map(slot));
  }
  // Slots whose host is not (or no longer) listed still show, under their own heading.
  const rest = h.slots.filter((s) => !s.host || !known.has(s.host));
  if (rest.length > 0) items.push({ kind: 'separator', label: 'other slots' }, ...rest.map(slot));
  return items;
}
