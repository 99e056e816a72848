// `--check-config`: the effective configuration with every secret masked (exit 0), or every
// problem found (exit 78, EX_CONFIG). Nothing is started.
import { missingKey } from '../agent/presets.js';
import { ConfigError } from './kinds.js';
import { readConfig } from './load.js';
import { VARIABLES } from './schema.js';
import type { WorkerConfig } from './types.js';

export const EX_CONFIG = 78;
const MASK = '***';

/** A secret as shown: masked, but a URL keeps what is not its password (which Redis is asked). */
export function maskSecret(value: string): string {
  try {
    const u = new URL(value);
    if (/^rediss?:$/.test(u.protocol)) {
      if (u.password) u.password = MASK;
      return u.toString();
    }
  } catch {
    /* not a URL */
  }
  return MASK;
}

/** WorkerConfig with the fields the schema calls secret masked. */
export function maskedConfig(config: WorkerConfig): unknown {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const [, spec] of VARIABLES) {
    if (!spec.secret) continue;
    const path = spec.field.split('.');
    const last = path.pop() ?? '';
    let node: unknown = copy;
    for (const key of path) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    if (node && typeof node === 'object') {
      const holder = node as Record<string, unknown>;
      if (typeof holder[last] === 'string') holder[last] = maskSecret(holder[last]);
    }
  }
  return copy;
}

export interface CheckResult {
  stdout: string;
  stderr: string;
  exitCode: 0 | typeof EX_CONFIG;
}

export function checkConfig(env: NodeJS.ProcessEnv = process.env): CheckResult {
  const report = readConfig(env);
  const errors = [...report.errors];
  if (report.config) {
    // Found where the agent's environment is known: at start, or here.
    const noKey = missingKey(report.config.agentPreset, report.config.agentKeyVar, env);
    if (noKey) errors.push(new ConfigError(noKey.variable, noKey.message));
  }
  const warnings = report.warnings.map((w) => `kiro-worker: warning: ${w.variable}: ${w.message}\n`).join('');
  if (errors.length || !report.config) {
    const lines = errors.map((e) => `kiro-worker: bad configuration: ${e.message}\n`).join('');
    return {
      stdout: '',
      stderr: `${lines}${warnings}kiro-worker: ${errors.length} problem${errors.length === 1 ? '' : 's'}; nothing started\n`,
      exitCode: EX_CONFIG,
    };
  }
  const set = VARIABLES.flatMap(([name, spec]) => {
    const s = report.settings[name];
    if (!s) return [];
    return [
      `  ${name}=${spec.secret ? maskSecret(s.raw) : s.raw}  (${s.origin === 'file' ? `from ${env.KIRO_WORKER_CONFIG}` : 'environment'})\n`,
    ];
  });
  const stdout = [
    'kiro-worker: the configuration is valid (secrets masked).\n',
    `Variables set:\n${set.join('') || '  (none: every default)\n'}`,
    `Effective configuration:\n${JSON.stringify(maskedConfig(report.config), null, 2)}\n`,
  ].join('');
  return { stdout, stderr: warnings, exitCode: 0 };
}
