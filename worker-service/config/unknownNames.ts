// A KIRO_* name the worker does not read is most likely a typo (KIRO_WORKER_SLOT=4), which would
// otherwise be ignored without a word: each gets a warning, with the closest known name.
import { PRESETS } from '../agent/presets.js';
import type { ConfigWarning } from './kinds.js';
import { ALL } from './schema.js';

/** KIRO_* names that are not the worker's settings but legitimately sit in its environment. */
const NOT_SETTINGS = new Set([
  // The agents' own (Kiro CLI's key and telemetry switch), passed to them, not read by the worker.
  ...Object.values(PRESETS).flatMap((p) => [...p.keyVars, ...p.passVars, ...Object.keys(p.env)]),
  'KIRO_DELEGATE', // set for the agent
  'KIRO_SKIP_E2E', // scripts/test.sh
]);

/** Edit distance, hand-written: a dozen lines for ~60 short names is less than a dependency. */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The known name closest to `name`, if it is close enough to be the one meant. */
export function closestName(name: string, known: Iterable<string> = Object.keys(ALL)): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = levenshtein(name.toUpperCase(), k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function warning(name: string, where: string): ConfigWarning {
  const guess = closestName(name);
  return { variable: name, message: `${where}: not a variable the worker reads${guess ? ` (did you mean ${guess}?)` : ''}; it is ignored` };
}

/**
 * Unknown names: KIRO_* ones in the environment (other programs' variables are none of its
 * business), every one in the KIRO_WORKER_CONFIG file (it holds nothing else). Names only,
 * never values: a misspelt secret stays secret.
 */
export function unknownNames(env: NodeJS.ProcessEnv, fromFile: Record<string, string> | undefined): ConfigWarning[] {
  const known = (n: string) =>
    n in ALL || NOT_SETTINGS.has(n) || names(env.KIRO_AGENT_ENV_ALLOW).includes(n) || env.KIRO_AGENT_KEY_VAR?.trim() === n;
  const warnings = Object.keys(env)
    .filter((n) => n.startsWith('KIRO_') && !known(n))
    .map((n) => warning(n, 'in the environment'));
  for (const n of Object.keys(fromFile ?? {})) {
    if (n === 'KIRO_WORKER_CONFIG')
      warnings.push({ variable: n, message: `in ${env.KIRO_WORKER_CONFIG}: ignored, it is read from the environment only` });
    else if (!(n in ALL)) warnings.push(warning(n, `in ${env.KIRO_WORKER_CONFIG}`));
  }
  return warnings;
}

function names(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim());
}
