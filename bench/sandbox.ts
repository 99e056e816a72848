// Sandbox overhead: a trivial agent (/bin/echo) from "about to start" to its first
// output, with the sandbox (prepare: private HOME, control group; then the
// cgroup-joining sh, prlimit and bwrap; release afterwards) minus without it
// (the same pty spawn), alternating in the same run, p50 over the runs.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnAgent } from '../worker-service/agent/ptyRunner.js';
import { loadConfig } from '../worker-service/config.js';
import { SandboxRuntime } from '../worker-service/sandbox/sandbox.js';
import { runGit } from '../worker-service/git/run.js';
import { tempDir } from '../test/support/helpers.js';
import { percentile, round } from './stats.js';

const RUNS = Number(process.env.BENCH_SANDBOX_RUNS ?? 60);

async function firstOutput(argv: string[], cwd: string, env: Record<string, string>, sandboxed: boolean): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = false;
    const agent = spawnAgent({
      argv,
      cwd,
      env,
      sandboxed,
      onData: () => {
        if (!seen) {
          seen = true;
          resolve();
        }
      },
    });
    void agent.exited.then((e) => (seen ? undefined : reject(new Error(`agent exited ${e.exitCode} before printing`))));
  });
}

export async function benchSandbox(): Promise<Record<string, number>> {
  const stateDir = await tempDir();
  // The sandbox alone: the network's own cost (the egress bridge the default starts) is bench/egress.ts's egressSpawnAddedMs.
  const config = loadConfig({ KIRO_WORKER_STATE_DIR: stateDir, KIRO_AGENT_NETWORK: 'none' });
  const sandbox = new SandboxRuntime({ config });
  await sandbox.init();
  // A worktree-shaped tree: the sandbox binds its .git file read-only.
  const tree = join(stateDir, 'work', 'slot-0', 'o__r');
  await mkdir(tree, { recursive: true });
  await runGit(['init', '--quiet', tree]);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color' };
  const argv = ['/bin/echo', 'ready'];
  const plain: number[] = [];
  const boxed: number[] = [];
  const prepareMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    await firstOutput(argv, tree, env, false);
    plain.push(performance.now() - t);
    t = performance.now();
    const job = await sandbox.prepare({ id: `bench-${i}`, tree, gitDirs: [], agentPath: argv[0] ?? '', agentArgv: argv, env });
    prepareMs.push(performance.now() - t);
    await firstOutput(job.argv, tree, job.env, true);
    boxed.push(performance.now() - t);
    await job.release();
  }
  const sandboxOverheadMs = percentile(boxed, 50) - percentile(plain, 50);
  console.log(
    `sandbox: spawn -> first output p50 ${round(percentile(plain, 50))} ms plain, ${round(percentile(boxed, 50))} ms sandboxed (of which prepare ${round(percentile(prepareMs, 50))} ms; limits: ${sandbox.status().limits}) -> overhead ${round(sandboxOverheadMs)} ms over ${RUNS} runs`,
  );
  return { sandboxOverheadMs: round(sandboxOverheadMs), sandboxPrepareP50Ms: round(percentile(prepareMs, 50)) };
}
