// The sandbox as data: a pure function from what a job may see to bubblewrap's
// argv. Deny by default: the host's root is bound read-only, every path that may
// hold a secret or another job's data is covered (an empty tmpfs over a
// directory, /dev/null over a file), and only then is exactly the job's own
// working tree opened for writing. Unit-tested on its output; the hostile-agent
// tests run real attacks against what it builds.
import { dirname, relative, isAbsolute } from 'node:path';
import type { NetworkPolicy } from '../config.js';

/** Where the egress bridge and its socket appear inside the sandbox (every network but `none`). */
export const SANDBOX_RUN_DIR = '/run/kiro';
export const SANDBOX_EGRESS_SOCKET = `${SANDBOX_RUN_DIR}/egress.sock`;
export const SANDBOX_BRIDGE = `${SANDBOX_RUN_DIR}/net-bridge.mjs`;
/** The proxy port on the sandbox's own loopback (its network namespace is private). */
export const SANDBOX_PROXY_PORT = 3128;
/** The agent's private HOME inside the sandbox. */
export const SANDBOX_HOME = '/home/agent';

export interface HiddenPath {
  path: string;
  /** A directory is covered by an empty tmpfs, a file by /dev/null. */
  kind: 'dir' | 'file';
}

export interface SandboxLayout {
  /** The job's working tree: the only writable host path (besides the job's HOME). */
  tree: string;
  /** Git metadata the tree needs (the mirror holding the worktree's gitdir): visible, read-only. */
  gitDirs: string[];
  /** Host directory bound as the agent's HOME (a fresh one per job). */
  home: string;
  /** Existing paths to hide; the caller has checked they exist and what they are. */
  hidden: HiddenPath[];
  /** Operator-named directories bound read-only at the same path. */
  readPaths: string[];
  /** Size of the private /tmp, bytes. */
  tmpBytes: number;
  network: NetworkPolicy;
  /** Under `allow` and `open`: the host side of the job's egress proxy socket and the bridge script. */
  egress?: { socket: string; bridge: string; node: string };
}

/** Whether the agent reaches out through the egress proxy (every network but `none`, which has nothing to reach). */
export function proxied(network: NetworkPolicy): network is Exclude<NetworkPolicy, { mode: 'none' }> {
  return network.mode === 'allow' || network.mode === 'open';
}

export function isWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Drops paths already covered by a hidden parent (or by the private /tmp). */
function coverage(hidden: HiddenPath[]): HiddenPath[] {
  const sorted = [...hidden].sort((a, b) => a.path.length - b.path.length);
  const kept: HiddenPath[] = [];
  for (const h of sorted) {
    if (isWithin(h.path, '/tmp')) continue;
    if (kept.some((k) => k.kind === 'dir' && isWithin(h.path, k.path))) continue;
    kept.push(h);
  }
  return kept;
}

/**
 * bwrap's arguments, up to and including the `--` before the agent's argv.
 * Mount order matters: later mounts go on top of earlier ones, so the hidden
 * paths come before the binds that open the job's own paths inside them.
 */
export function bwrapArgs(layout: SandboxLayout): string[] {
  const a: string[] = [
    // Every namespace bwrap knows (user, pid, ipc, uts, cgroup, net): the sandbox's network is its own
    // loopback, and the way out (but under `none`) is the egress proxy's socket bound in below.
    '--unshare-all',
    // The agent cannot make namespaces of its own to climb out of these.
    '--unshare-user',
    '--disable-userns',
    '--cap-drop',
    'ALL',
    // The sandbox dies with the service (even kill -9), and cannot push keystrokes into a terminal (TIOCSTI).
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'kiro-sandbox',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    // Its own /proc: no other process's environment or command line.
    '--proc',
    '/proc',
    '--size',
    String(layout.tmpBytes),
    '--tmpfs',
    '/tmp',
  ];
  const hidden = coverage(layout.hidden);
  for (const h of hidden) {
    if (h.kind === 'dir') a.push('--tmpfs', h.path);
    else a.push('--ro-bind', '/dev/null', h.path);
  }
  for (const dir of layout.gitDirs) a.push('--ro-bind', dir, dir);
  for (const dir of layout.readPaths) a.push('--ro-bind-try', dir, dir);
  a.push('--bind', layout.tree, layout.tree);
  // The worktree's `.git` file says where its metadata lives; the service runs git here after the
  // agent, so an agent that could rewrite it could point git at a config of its own making.
  a.push('--ro-bind', `${layout.tree}/.git`, `${layout.tree}/.git`);
  a.push('--bind', layout.home, SANDBOX_HOME);
  if (proxied(layout.network)) {
    if (!layout.egress) throw new Error(`KIRO_AGENT_NETWORK=${layout.network.mode} needs the egress proxy`);
    a.push('--ro-bind', layout.egress.bridge, SANDBOX_BRIDGE, '--bind', layout.egress.socket, SANDBOX_EGRESS_SOCKET);
    // node itself may live under a hidden path (nvm under /root): bring its install back, read-only.
    const nodePrefix = dirname(dirname(layout.egress.node));
    if (layout.hidden.some((h) => isWithin(nodePrefix, h.path))) a.push('--ro-bind', nodePrefix, nodePrefix);
  }
  // The covers themselves read-only (not recursive: the job's binds inside them stay as they are),
  // so nothing the agent writes there can pass for service state, even in its own view.
  for (const h of hidden) if (h.kind === 'dir') a.push('--remount-ro', h.path);
  a.push('--chdir', layout.tree, '--');
  return a;
}

/** The agent's argv inside the sandbox: behind the egress proxy, the bridge starts first and runs it. */
export function sandboxedArgv(layout: SandboxLayout, agentArgv: string[]): string[] {
  if (!proxied(layout.network) || !layout.egress) return agentArgv;
  return [layout.egress.node, SANDBOX_BRIDGE, String(SANDBOX_PROXY_PORT), SANDBOX_EGRESS_SOCKET, '--', ...agentArgv];
}

/** Variables the agent gets behind the egress proxy so that its HTTP clients use it. */
export function proxyEnv(network: NetworkPolicy): Record<string, string> {
  if (!proxied(network)) return {};
  const url = `http://127.0.0.1:${SANDBOX_PROXY_PORT}`;
  return {
    HTTPS_PROXY: url,
    HTTP_PROXY: url,
    https_proxy: url,
    http_proxy: url,
    NO_PROXY: 'localhost,127.0.0.1',
    no_proxy: 'localhost,127.0.0.1',
  };
}
