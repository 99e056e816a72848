// The files a push changed, read from git's machine output (for the job and its PR comment).
import { MAX_LISTED_CHANGES, type FileChange, type JobChanges } from '../../shared/protocol.js';

/** Parses `git diff --numstat -z`: "added\tremoved\tpath\0", or "added\tremoved\t\0old\0new\0" for a rename; "-" counts of a binary file. */
export function parseNumstat(out: string): JobChanges {
  const parts = out.split('\0');
  const changes: JobChanges = { files: [], filesChanged: 0, added: 0, removed: 0 };
  for (let i = 0; i < parts.length;) {
    const m = /^(\d+|-)\t(\d+|-)\t([^]*)$/.exec(parts[i++] ?? '');
    if (!m) continue;
    const [, a = '-', r = '-', named = ''] = m;
    let path = named;
    let from: string | undefined;
    if (named === '') {
      from = parts[i++] ?? '';
      path = parts[i++] ?? '';
    }
    const binary = a === '-' || r === '-';
    const file: FileChange = {
      path,
      ...(from !== undefined ? { from } : {}),
      added: binary ? 0 : Number(a),
      removed: binary ? 0 : Number(r),
      ...(binary ? { binary } : {}),
    };
    changes.filesChanged += 1;
    changes.added += file.added;
    changes.removed += file.removed;
    if (changes.files.length < MAX_LISTED_CHANGES) changes.files.push(file);
  }
  return changes;
}
