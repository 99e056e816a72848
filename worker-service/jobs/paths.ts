// Paths in the state folder. Every directory the service writes to or deletes for a job
// (its sandbox HOME, a mirror, a worktree, a log) is made here from parts that are each
// one plain name, and checked to resolve strictly under the state folder: a name that
// got past validation (or came from somewhere that skipped it) still cannot reach out.
import { resolve, sep } from 'node:path';

export class UnsafePathError extends Error {
  readonly code = 'UNSAFE_PATH';
  static is(e: unknown): e is UnsafePathError {
    return e instanceof UnsafePathError;
  }
}

/** One plain path segment: not empty, not `.` or `..`, no separator, no NUL. */
export function isPlainSegment(part: string): boolean {
  return part.length > 0 && part !== '.' && part !== '..' && !/[/\\\0]/.test(part);
}

/** `path` itself, once it is checked to lie strictly inside `stateDir` (never the folder itself). */
export function underStateDir(stateDir: string, path: string): string {
  const root = resolve(stateDir);
  const full = resolve(root, path);
  if (!full.startsWith(root + sep)) throw new UnsafePathError(`${JSON.stringify(path)} is not inside the state folder`);
  return full;
}

/** stateDir/part/part/…: each part one plain segment, the whole strictly inside the state folder. */
export function statePath(stateDir: string, ...parts: string[]): string {
  const bad = parts.find((p) => !isPlainSegment(p));
  if (bad !== undefined || parts.length === 0)
    throw new UnsafePathError(`${JSON.stringify(bad ?? '')} is not a plain name for a path in the state folder`);
  return underStateDir(stateDir, parts.join(sep));
}
