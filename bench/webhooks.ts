// Steering from GitHub (issue 19), through the real worker and the stand-in's signed webhook
// deliveries, on one machine (one clock):
//  - webhookAckP50Ms: a delivery sent -> the worker's 2xx received by the stand-in.
//  - webhookToRunningP50Ms: a delivery sent -> the job's agent running (the worker's own
//    'running' event), with the tree warm (a round on the same PR ran before).
//  - reactionP50Ms: a delivery sent -> the 👀 reaction received by the stand-in.
// Rounds go one after another on one PR (each waits for the one before to end).
import { GitHubStandIn } from '../test/support/github/server.js';
import { tempDir } from '../test/support/helpers.js';
import { makeTaskPr, startWorker, workerEnv, WorkerClient } from '../test/support/worker.js';
import { percentile, round } from './stats.js';

const ROUNDS = Number(process.env.BENCH_WEBHOOK_ROUNDS ?? 20);
const SECRET = 'bench-webhook-secret-0123456789';

export async function benchWebhooks(): Promise<Record<string, number>> {
  const gh = await GitHubStandIn.start();
  gh.addUser('alice');
  const bot = gh.addUser('kiro-bot');
  await gh.createRepo('alice', 'app', { files: [{ path: 'README.md', contents: '# app\n' }] });
  gh.grant('alice', 'app', 'kiro-bot', 'WRITE');
  const w = await startWorker(
    workerEnv(gh, bot.token, await tempDir(), {
      KIRO_GITHUB_WEBHOOK_SECRET: SECRET,
      KIRO_BRANCH_PREFIX: 'kiro/',
      KIRO_LOG_LEVEL: 'error',
      KIRO_USER_MAX_JOBS_PER_DAY: '100000',
    }),
    { commenter: async () => undefined, agentEnv: { FAKE_KIRO_STEP_MS: '0' } },
  );
  gh.webhooks.set(`${w.url}/github/webhook`, SECRET);
  const client = new WorkerClient(w.url);
  const running = new Map<string, number>();
  w.app.jobs.on('job', (j) => {
    if (j.state === 'running' && !running.has(j.jobId)) running.set(j.jobId, Date.now());
  });
  try {
    const { number } = await makeTaskPr(gh, 'alice', 'app', 'kiro/bench-hooks', 'bench', '\n[scenario: no-change]');
    const ack: number[] = [];
    const toRunning: number[] = [];
    const reaction: number[] = [];
    let seen = 0;
    // Round 0 warms the slot's checkout; it is not measured.
    for (let i = 0; i <= ROUNDS; i++) {
      const made = await gh.webhooks.comment('alice', 'app', number, 'alice', `/kiro round ${i}`);
      const outcomes = (await w.app.steering?.handled()) ?? [];
      const o = outcomes[seen];
      seen = outcomes.length;
      if (o?.kind !== 'queued') throw new Error(`round ${i} was not queued: ${JSON.stringify(o)}`);
      await client.waitFor(o.jobId, ['no-changes', 'succeeded'], 30_000);
      await w.app.steering?.feedback.idle();
      if (i === 0) continue;
      const eyes = gh.webhooks.state('alice', 'app').reactions.find((r) => r.targetId === made.id && r.content === 'eyes');
      const ran = running.get(o.jobId);
      if (!eyes || ran === undefined) throw new Error(`round ${i}: no 👀 or no running event`);
      ack.push(made.delivery.answeredAt - made.delivery.sentAt);
      toRunning.push(ran - made.delivery.sentAt);
      reaction.push(eyes.at - made.delivery.sentAt);
    }
    return {
      webhookAckP50Ms: round(percentile(ack, 50)),
      webhookAckP99Ms: round(percentile(ack, 99)),
      webhookToRunningP50Ms: round(percentile(toRunning, 50)),
      reactionP50Ms: round(percentile(reaction, 50)),
    };
  } finally {
    await w.close();
    await gh.close();
  }
}
