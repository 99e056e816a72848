// The part of a job's PR comment that lists what the agent's network was refused
// (KIRO_AGENT_NETWORK, worker-service/sandbox/egressPolicy.ts), so that whoever reads
// the PR knows which host to add to KIRO_AGENT_ALLOW_HOSTS, or that an agent tried to
// reach what no agent may (a cloud's metadata service, this worker, Redis).
import type { Job } from '../jobs/job.js';

const WHY: Record<string, string> = {
  'not-allowed': 'not on the allow list: add it to `KIRO_AGENT_ALLOW_HOSTS` if the agent needs it',
  private: 'not a public address: add it to `KIRO_AGENT_ALLOW_HOSTS` if agents may reach it',
  'link-local': "link-local (a cloud's metadata service): never reachable from agents",
  worker: "this worker's own API: never reachable from agents",
  redis: "the fleet's Redis: never reachable from agents",
};

/** A host name or address as the proxy saw it: it passed the proxy's name check, but a comment shows nothing else. */
const safe = (host: string) => host.replace(/[^A-Za-z0-9.:-]/g, '?');

/** "**Blocked network requests** …" with one line per destination; '' when nothing was refused. */
export function blockedNote(job: Pick<Job, 'blocked'>): string {
  const blocked = job.blocked ?? [];
  if (blocked.length === 0) return '';
  const lines = blocked.map((b) => {
    const target = b.host.includes(':') ? `[${safe(b.host)}]:${b.port}` : `${safe(b.host)}:${b.port}`;
    const times = b.count > 1 ? ` (${b.count} times)` : '';
    return `- \`${target}\`${times}: ${WHY[b.reason] ?? 'refused'}`;
  });
  return [`**Blocked network requests** (the agent's network is \`KIRO_AGENT_NETWORK\`'s):`, ...lines].join('\n');
}
