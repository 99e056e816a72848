// The agent as /health reports it: which preset, whether its executable is on this
// host, what to install when it is not, and its version. The version comes from
// running `<agent> --version` once per executable file (a Node CLI takes a few
// hundred milliseconds), with the preset's variables that keep it off the network
// and a throwaway HOME and working folder, so that asking never changes the agent's
// own state. Only the known CLIs are asked: this runs outside the sandbox, and a
// custom command may not know --version at all (it could start working instead).
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PoolHealth } from '../../shared/protocol.js';
import type { WorkerConfig } from '../config.js';
import { findAgent } from './command.js';
import { PRESETS } from './presets.js';

const VERSION_TIMEOUT_MS = 10_000;

/** What `<path> --version` printed first (at most 200 characters), or null when it failed or printed nothing. */
export async function probeVersion(path: string, env: Record<string, string>): Promise<string | null> {
  const home = await mkdtemp(join(tmpdir(), 'kiro-agent-version-'));
  try {
    const out = await new Promise<string | null>((resolve) => {
      execFile(
        path,
        ['--version'],
        { cwd: home, env: { ...env, HOME: home }, timeout: VERSION_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 },
        (err, stdout) => {
          resolve(err ? null : stdout);
        },
      );
    });
    const line = out
      ?.split('\n')
      .map((l) => l.trim())
      .find(Boolean);
    return line ? line.slice(0, 200) : null;
  } finally {
    await rm(home, { recursive: true, force: true }).catch(() => undefined);
  }
}

export class AgentHealth {
  /** path + mtime → its version: an agent upgraded in place is asked again. */
  private readonly versions = new Map<string, Promise<string | null>>();

  constructor(
    private readonly config: WorkerConfig,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async report(): Promise<PoolHealth['agent']> {
    const { agentPreset: preset, agentCommand } = this.config;
    const p = PRESETS[preset];
    const lookup = findAgent(agentCommand[0] ?? '', this.env.PATH ?? '');
    const message = lookup.found || preset === 'custom' ? lookup.message : `${lookup.message} (KIRO_AGENT=${preset}: install ${p.install})`;
    const version = lookup.path && preset !== 'custom' ? await this.version(lookup.path) : null;
    return { command: lookup.command, found: lookup.found, message, preset, version };
  }

  private version(path: string): Promise<string | null> {
    let key = path;
    try {
      key = `${path}@${statSync(path).mtimeMs}`;
    } catch {
      /* gone meanwhile: the probe says null */
    }
    let v = this.versions.get(key);
    if (!v) {
      const env: Record<string, string> = { ...PRESETS[this.config.agentPreset].env, PATH: this.env.PATH ?? '' };
      v = probeVersion(path, env);
      this.versions.set(key, v);
    }
    return v;
  }
}
