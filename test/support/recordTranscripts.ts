// Records what the real agent CLIs print, for the output parsers' tests: each CLI
// runs headless exactly as the worker starts it (its preset's argv and variables,
// in a pseudo-terminal through the worker's own spawnAgent, in a git working tree
// holding TASK.md) against its scripted model on loopback, once for the scripted
// task and once against a model that refuses every turn. The raw terminal output
// goes to test/fixtures/agents/<agent>-<ok|fail>.txt unchanged. Run it as root,
// where nothing can leave the machine:
//   bash scripts/agents/install.sh codex; bash scripts/agents/install.sh claude; bash scripts/agents/install.sh gemini
//   unshare --net --mount --pid --fork --mount-proc --kill-child -- node --import tsx test/support/recordTranscripts.ts '{"codex":"/abs/codex","claude":"/abs/claude","gemini":"/abs/gemini"}'
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AGENT_PROMPT, agentEnv, expandCommand } from '../../worker-service/agent/command.js';
import { passedVars, PRESETS } from '../../worker-service/agent/presets.js';
import { spawnAgent } from '../../worker-service/agent/ptyRunner.js';
import { agentVars, FIXTURE_TASK, REAL_AGENTS, startModel, workerVars, writeHomeTemplate, type RealAgent } from './agentScenarios.js';
import { assertIsolated, loopbackUp } from './isolation.js';
import { repoRoot } from './paths.js';

/** A refusing model makes some CLIs retry for a while: what they printed by then is the transcript. */
const RUN_LIMIT_MS = 60_000;

async function record(agent: RealAgent, bin: string, fail: boolean): Promise<{ exitCode: number; bytes: number }> {
  const model = await startModel(agent, FIXTURE_TASK, fail);
  const scratch = await mkdtemp(join(tmpdir(), `kiro-record-${agent}-`));
  try {
    const tree = join(scratch, 'tree');
    const home = join(scratch, 'home');
    execFileSync('git', ['init', '-q', '-b', 'main', tree]);
    await writeFile(
      join(tree, 'TASK.md'),
      `# Create ${FIXTURE_TASK.fileName}\n\nCreate a file named ${FIXTURE_TASK.fileName} whose only line is: ${FIXTURE_TASK.fileContent}\n`,
    );
    await writeHomeTemplate(agent, model.baseUrl, home, bin);
    const preset = PRESETS[agent];
    const keyVar = workerVars(agent).KIRO_AGENT_KEY_VAR;
    const source = { PATH: `${dirname(bin)}:${process.env.PATH ?? ''}`, HOME: home, ...agentVars(agent, model.baseUrl) };
    const env = { ...preset.env, ...agentEnv(source, passedVars(agent, keyVar)), HOME: home };
    const argv = expandCommand(preset.command, { prompt: AGENT_PROMPT, taskFile: join(tree, 'TASK.md') });
    argv[0] = bin;
    let out = '';
    const proc = spawnAgent({ argv, cwd: tree, env, onData: (d) => (out += d) });
    const timer = setTimeout(() => void proc.stop('timeout', 2000), RUN_LIMIT_MS);
    const exit = await proc.exited;
    clearTimeout(timer);
    const file = join(repoRoot, 'test', 'fixtures', 'agents', `${agent}-${fail ? 'fail' : 'ok'}.txt`);
    await writeFile(file, out);
    return { exitCode: exit.exitCode, bytes: Buffer.byteLength(out) };
  } finally {
    await model.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(bins: Partial<Record<RealAgent, string>>): Promise<void> {
  assertIsolated(undefined, 'test/support/recordTranscripts.ts');
  loopbackUp();
  for (const agent of REAL_AGENTS) {
    const bin = bins[agent];
    if (!bin) continue;
    for (const fail of [false, true]) {
      const r = await record(agent, bin, fail);
      process.stdout.write(`${agent}-${fail ? 'fail' : 'ok'}: exit ${r.exitCode}, ${r.bytes} bytes\n`);
    }
  }
}

try {
  await main(JSON.parse(process.argv[2] ?? '{}') as Partial<Record<RealAgent, string>>);
  process.exit(0);
} catch (e) {
  process.stderr.write(`recordTranscripts: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}
