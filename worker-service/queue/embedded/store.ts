// Durable job storage: one JSON file per job under <stateDir>/jobs, written
// atomically (temp file, fsync, rename) so a crash never leaves half a record.
// A job is saved before the service answers 202.
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Job } from '../../jobs/job.js';

export class JobStore {
  readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'jobs');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /**
   * Atomic always (a reader never sees half a record); flushed to the disk only
   * when `durable` (acceptance and the final state). The states in between
   * survive a crash of the service (the kernel has them); only a power loss can
   * lose one, and then the job simply runs again as interrupted.
   */
  async save(job: Job, durable = true): Promise<void> {
    await writeFileAtomic(join(this.dir, `${job.id}.json`), JSON.stringify(job), { fsync: durable });
  }

  async remove(id: string): Promise<void> {
    await unlink(join(this.dir, `${id}.json`)).catch(() => undefined);
  }

  /** Every stored job, oldest first. Unreadable files are reported, not fatal. */
  async loadAll(onBad: (file: string, error: Error) => void = () => undefined): Promise<Job[]> {
    const jobs: Job[] = [];
    for (const file of await readdir(this.dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        jobs.push(JSON.parse(await readFile(join(this.dir, file), 'utf8')) as Job);
      } catch (e) {
        onBad(file, e as Error);
      }
    }
    return jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }
}
