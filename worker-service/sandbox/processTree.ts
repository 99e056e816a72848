// A process's descendants, read from /proc/<pid>/task/<tid>/children. Used to
// give a sandboxed agent its SIGTERM: bwrap itself must not get it (it would die
// at once and take the sandbox down with SIGKILL, leaving the agent no grace).
import { readdirSync, readFileSync } from 'node:fs';

function children(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
    } catch {
      /* the task ended */
    }
  }
  return out;
}

export function descendants(pid: number): number[] {
  const seen: number[] = [];
  const todo = children(pid);
  while (todo.length > 0 && seen.length < 100_000) {
    const p = todo.shift() as number;
    seen.push(p);
    todo.push(...children(p));
  }
  return seen;
}

export function signalDescendants(pid: number, signal: NodeJS.Signals): void {
  for (const p of descendants(pid)) {
    try {
      process.kill(p, signal);
    } catch {
      /* gone */
    }
  }
}
