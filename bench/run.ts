// npm run bench: prints figures (ratios against baselines measured in the same
// run) and writes them to bench/results.json. No figure here is an assertion.
import { readFile, writeFile } from 'node:fs/promises';
import { benchEgress } from './egress.js';
import { benchExtension } from './extension.js';
import { benchFleet } from './fleet.js';
import { benchIdentity } from './identity.js';
import { benchMetrics } from './metrics.js';
import { benchStreams } from './streams.js';
import { benchActivationHost } from './activationHost.js';
import { benchRedaction } from './redaction.js';
import { benchSandbox } from './sandbox.js';
import { benchSteer } from './steer.js';
import { benchWorker } from './worker.js';
import { benchWebhooks } from './webhooks.js';

const only = process.argv[2];
const file = new URL('./results.json', import.meta.url);
let results: Record<string, unknown> = {};
try {
  results = JSON.parse(await readFile(file, 'utf8'));
} catch {
  /* first run */
}

const suites: Record<string, () => Promise<Record<string, number>>> = {
  extension: benchExtension,
  activationHost: benchActivationHost,
  sandbox: benchSandbox,
  steer: benchSteer,
  worker: benchWorker,
  fleet: benchFleet,
  identity: benchIdentity,
  streams: benchStreams,
  redaction: benchRedaction,
  egress: benchEgress,
  webhooks: benchWebhooks,
  metrics: benchMetrics,
};

for (const [name, run] of Object.entries(suites)) {
  if (only && only !== name) continue;
  Object.assign(results, await run());
}
results.measuredAt = new Date().toISOString();
results.machine = `${(await import('node:os')).cpus().length} cores, node ${process.version}`;
await writeFile(file, JSON.stringify(results, null, 2) + '\n');
console.log(JSON.stringify(results, null, 2));
process.exit(0);
