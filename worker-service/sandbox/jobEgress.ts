// One job's egress: its own proxy (egressProxy.ts) on a Unix socket beside the job's
// sandbox folder, so that what it refuses is this job's and its tunnels end with the job;
// the destinations it refused (each once, with a count, at most MAX_BLOCKED), and the
// terminal's note on each.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkPolicy } from '../config.js';
import { formatTarget, type ForbiddenTargets, type Lookup } from './egressPolicy.js';
import { startEgressProxy, type BlockedRequest, type EgressLog } from './egressProxy.js';

/** How many distinct refused destinations a job records (and notes in its terminal). */
export const MAX_BLOCKED = 20;

/** A job's refused destinations: one entry per host:port, in the order first refused. */
export interface BlockedTarget extends BlockedRequest {
  /** How many times it was refused. */
  count: number;
}

export interface JobEgress {
  socketPath: string;
  /** What the proxy refused so far. */
  blocked(): BlockedTarget[];
  close(): Promise<void>;
}

export async function startJobEgress(o: {
  /** The job's sandbox folder (removed with the job). */
  dir: string;
  policy: Exclude<NetworkPolicy, { mode: 'none' }>;
  forbidden: ForbiddenTargets;
  lookup?: Lookup;
  log?: EgressLog;
  /** Told of each destination refused, the first time. */
  onBlocked?: (b: BlockedTarget) => void;
}): Promise<JobEgress> {
  // A Unix socket's path holds at most 107 bytes: a long state folder gets one in the host's temp folder.
  let socketPath = join(o.dir, 'egress.sock');
  let cleanup: string | undefined;
  if (Buffer.byteLength(socketPath) > 100) {
    cleanup = await mkdtemp(join(tmpdir(), 'kiro-egress-'));
    socketPath = join(cleanup, 'egress.sock');
  }
  const blocked: BlockedTarget[] = [];
  const proxy = await startEgressProxy({
    socketPath,
    mode: o.policy.mode,
    allow: o.policy.hosts ?? [],
    forbidden: o.forbidden,
    lookup: o.lookup,
    log: o.log,
    onBlocked: (b) => {
      const seen = blocked.find((x) => x.host === b.host && x.port === b.port);
      if (seen) {
        seen.count += 1;
        return;
      }
      if (blocked.length >= MAX_BLOCKED) return;
      const entry = { ...b, count: 1 };
      blocked.push(entry);
      o.onBlocked?.(entry);
    },
  }).catch(async (e: unknown) => {
    if (cleanup) await rm(cleanup, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  });
  return {
    socketPath,
    blocked: () => blocked.map((b) => ({ ...b })),
    async close() {
      await proxy.close();
      if (cleanup) await rm(cleanup, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

/** The terminal's note for a refused destination: what to do about it, or that nothing can be done. */
export function blockedNote(b: Pick<BlockedRequest, 'host' | 'port' | 'reason'>): string {
  const target = formatTarget(b.host, b.port);
  switch (b.reason) {
    case 'not-allowed':
      return `blocked: ${target} — add it to KIRO_AGENT_ALLOW_HOSTS`;
    case 'private':
      return `blocked: ${target} — not a public address; add it to KIRO_AGENT_ALLOW_HOSTS if agents may reach it`;
    case 'link-local':
      return `blocked: ${target} — link-local (a cloud's metadata service); no agent may reach it`;
    case 'worker':
      return `blocked: ${target} — this worker's own API; no agent may reach it`;
    case 'redis':
      return `blocked: ${target} — the fleet's Redis; no agent may reach it`;
    case 'not-an-address':
      return `blocked: ${target}`;
  }
}
