// What a long-running script (npm run demo, npm run cluster) undoes on the way out,
// the last made first. Each step is registered before its start is awaited, so a
// Ctrl-C during a start still stops what it started. Ctrl-C and SIGTERM stop it all,
// say what went down and which temporary folders went, and exit.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const list = (xs: string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}` : (xs[0] ?? 'nothing'));

export class Lifecycle {
  private readonly undo: { what: string; run: () => Promise<unknown> }[] = [];
  private readonly removed: string[] = [];
  private readonly stopped: string[] = [];
  private stopping: Promise<never> | undefined;

  /** `name` as in "stopping the demo…", "Demo stopped: …". */
  constructor(private readonly name: string) {
    process.on('SIGINT', () => void this.stop(0, 'Ctrl-C'));
    process.on('SIGTERM', () => void this.stop(0, 'SIGTERM'));
  }

  /** True once stop() began: a start that fails then was cut short, not broken. */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** A step to undo on the way out (after everything registered later). */
  onStop(what: string, run: () => Promise<unknown>): void {
    this.undo.push({ what, run });
  }

  /** Something started: `close` stops it on the way out, and it is named in the farewell. */
  started<T>(what: string, start: Promise<T>, close: (t: T) => Promise<unknown>): Promise<T> {
    this.onStop(`stop ${what}`, async () => {
      await close(await start);
      this.stopped.unshift(what);
    });
    return start;
  }

  /** A fresh folder under the temporary directory, removed on the way out. */
  async tempFolder(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.onStop(`remove ${dir}`, async () => {
      await rm(dir, { recursive: true, force: true });
      this.markRemoved(dir);
    });
    return dir;
  }

  /** A folder that a close step removed (named in the farewell). */
  markRemoved(dir: string): void {
    this.removed.push(dir);
  }

  stop(code: number, why?: string): Promise<never> {
    this.stopping ??= (async () => {
      if (why) console.log(`\n${why}: stopping the ${this.name}…`);
      for (const step of this.undo.splice(0).reverse()) {
        await step.run().catch((e: unknown) => console.error(`  could not ${step.what}: ${(e as Error).message}`));
      }
      const { stopped, removed } = this;
      const title = `${this.name[0]?.toUpperCase() ?? ''}${this.name.slice(1)}`;
      console.log(`${title} stopped: ${list(stopped)} ${stopped.length > 1 ? 'are' : 'is'} down; removed ${list(removed)}.`);
      process.exit(code);
    })();
    return this.stopping;
  }
}

/**
 * Stops a child started in its own process group: SIGTERM to it (a worker drains, then
 * stops its own agents), SIGKILL to the whole group if it is still there after `killAfterMs`.
 */
export async function stopChild(child: ChildProcess, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      /* gone */
    }
  }, killAfterMs);
  await exited;
  clearTimeout(timer);
}
