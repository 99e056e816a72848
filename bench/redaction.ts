// Redaction overhead: 2 MB of agent output (coloured lines, as CLIs print them, in
// 4 KB chunks as a pty delivers them) holding ten secrets (two key variables, two
// template-HOME logins, a GitHub token, an Anthropic key, an AWS key id, a Google key,
// a JWT and a PEM private key, one of them cut across two chunks) recorded as agentRun.ts
// records a plain-text agent's output (AgentOutput.push → JobLog.write, from the first chunk
// to the file closed) with the redactor
// versus with a filter that passes everything through, in pairs run back to back (alternating
// which goes first). redactionOverheadPct = (p50 over the pairs of the CPU time redacting /
// passing - 1) × 100 (the process's CPU time: what the machine's other load does not change);
// redactionWallOverheadPct the same in wall-clock time; redactionBestRunsOverheadPct from the
// fastest run of each (CPU time), the least disturbed by other load on the machine.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentOutput } from '../worker-service/agent/output.js';
import { JobLog } from '../worker-service/jobs/log.js';
import type { OutputFilter } from '../worker-service/redaction/redactor.js';
import { tempDir } from '../test/support/helpers.js';
import { percentile, round } from './stats.js';

const RUNS = Number(process.env.BENCH_REDACTION_RUNS ?? 60);
const OUTPUT_BYTES = 2 * 1024 * 1024;
const CHUNK = 4096;

const passThrough: OutputFilter = { setSecrets: () => undefined, push: (c) => c, flush: () => '', redact: (t) => t, visible: null };

const ENV_SECRETS = ['kiro-api-key-0f3a9c2e7d1b4a68', 'gateway-token-5Hq8Zr2Lx7Vw'];
const HOME_SECRETS = ['oauth-refresh-value-XW91sd0Pqk', 'registry-password-7tYu3kLm'];
const SHAPED = [
  'ghp_R2d2C3poBB8aaLukeSkywalker0123456789',
  'sk-ant-api03-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg-AA',
  'AKIAIOSFODNN7EXAMPLE',
  'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCIsImlhdCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLW9mLXRoZS1iZW5jaA',
  '-----BEGIN OPENSSH PRIVATE KEY-----\r\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\r\nQyNTUxOQAAACBbZW5jaC1rZXktbm90LWEtcmVhbC1vbmUtYXQtYWxsAAAAAAAAAAAAAA==\r\n-----END OPENSSH PRIVATE KEY-----',
];

/** Lines an agent prints: commands, their output, code, with colours and a cursor move now and then. */
function agentOutput(): { text: string; secrets: string[] } {
  const words = [
    'const',
    'value',
    'return',
    'await',
    'function',
    'src/agent/output.ts',
    'passed',
    'error:',
    'the',
    'test',
    'import',
    'from',
    '=>',
    '{',
    '}',
    'risk-averse',
    'task-runner',
    'Reading',
    'TASK.md',
  ];
  const secrets = [...ENV_SECRETS, ...HOME_SECRETS, ...SHAPED];
  const lines: string[] = [];
  let size = 0;
  let n = 0;
  let next = 0;
  while (size < OUTPUT_BYTES) {
    let line = '';
    for (let w = 0; w < 12; w++) line += `${words[(n * 7 + w * 13) % words.length]} `;
    if (n % 3 === 0) line = `\x1b[36m▸\x1b[0m ${line}\x1b[2m(${n} ms)\x1b[0m`;
    if (n % 50 === 0) line = `\x1b[2K\r${line}`;
    // The ten secrets, spread evenly through the output.
    if (next < secrets.length && size >= (next + 0.5) * (OUTPUT_BYTES / secrets.length)) line += ` KEY=${secrets[next++]}`;
    lines.push(line);
    size += Buffer.byteLength(line) + 2;
    n++;
  }
  return { text: lines.join('\r\n'), secrets };
}

/** The recording path as agentRun.ts makes it for a plain-text agent: the output reader, then the job log, to the file closed. */
async function writeThrough(
  path: string,
  chunks: readonly string[],
  filter: OutputFilter | undefined,
): Promise<{ wall: number; cpu: number }> {
  const log = new JobLog(path, 64 * 1024 * 1024, filter);
  log.protect([...ENV_SECRETS, ...HOME_SECRETS]);
  const output = new AgentOutput(
    'plain',
    (text) => log.write(text),
    undefined,
    (text) => log.redact(text),
  );
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const c of chunks) output.push(c);
  output.end();
  await log.close();
  const c1 = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c1.user + c1.system) / 1000 };
}

export async function benchRedaction(): Promise<Record<string, number>> {
  const dir = await tempDir();
  const { text, secrets } = agentOutput();
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += CHUNK) chunks.push(text.slice(i, i + CHUNK));
  // One secret cut across two chunks.
  const cutAt = text.indexOf(SHAPED[0] ?? '') + 10;
  const k = Math.floor(cutAt / CHUNK);
  chunks.splice(k, 2, text.slice(k * CHUNK, cutAt), text.slice(cutAt, (k + 2) * CHUNK));
  // Each chunk its own string, decoded from bytes, as node-pty hands them over (not slices of one string).
  for (const [i, c] of chunks.entries()) chunks[i] = Buffer.from(c).toString('utf8');

  // Warm up both paths, and check the redacting one: none of the ten left in the file.
  await writeThrough(join(dir, 'warm-off.log'), chunks, passThrough);
  await writeThrough(join(dir, 'warm-on.log'), chunks, undefined);
  const recorded = readFileSync(join(dir, 'warm-on.log'), 'utf8');
  const left = secrets.filter((s) => s.split('\r\n').some((part) => part.length >= 8 && recorded.includes(part)));
  if (left.length) throw new Error(`redaction bench: ${left.length} secrets left in the log: ${left.join(', ')}`);
  const redactions = recorded.split('[redacted]').length - 1;

  const on: number[] = [];
  const off: number[] = [];
  const cpuRatios: number[] = [];
  const wallRatios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Each pair run back to back, in alternating order, so that the machine's load weighs on both alike.
    const first = i % 2 === 0;
    const a = await writeThrough(join(dir, `${i}-a.log`), chunks, first ? passThrough : undefined);
    const b = await writeThrough(join(dir, `${i}-b.log`), chunks, first ? undefined : passThrough);
    const [plain, redacting] = first ? [a, b] : [b, a];
    off.push(plain.cpu);
    on.push(redacting.cpu);
    cpuRatios.push(redacting.cpu / plain.cpu);
    wallRatios.push(redacting.wall / plain.wall);
    await rm(join(dir, `${i}-a.log`));
    await rm(join(dir, `${i}-b.log`));
  }
  const pOn = percentile(on, 50);
  const pOff = percentile(off, 50);
  const pct = (percentile(cpuRatios, 50) - 1) * 100;
  const wallPct = (percentile(wallRatios, 50) - 1) * 100;
  // The fastest run of each: the least disturbed by the machine's other load.
  const bestPct = (Math.min(...on) / Math.min(...off) - 1) * 100;
  const mb = text.length / (1024 * 1024);
  console.log(
    `redaction: ${round(mb, 1)} MB in ${chunks.length} chunks, ${redactions} redactions: CPU p50 ${round(pOn, 1)} ms redacting vs ${round(pOff, 1)} ms passing through, +${round(pct, 1)} % (p50 of the pairs' ratio; wall clock +${round(wallPct, 1)} %; fastest runs +${round(bestPct, 1)} %), ${RUNS} pairs`,
  );
  return {
    redactionOverheadPct: round(pct, 1),
    redactionWallOverheadPct: round(wallPct, 1),
    redactionBestRunsOverheadPct: round(bestPct, 1),
    redactionCpuP50Ms: round(pOn, 1),
    redactionBaselineCpuP50Ms: round(pOff, 1),
    redactionMBps: round(mb / (pOn / 1000), 0),
  };
}
