// npm run docs:config: writes the tables of docs/worker/configuration.md from the schema
// (worker-service/config/schema.ts). test/unit/worker/configSchema.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderPage } from '../worker-service/config/docs.js';

export const PAGE = 'docs/worker/configuration.md';
const current = readFileSync(PAGE, 'utf8');
const next = renderPage(current);
if (next === current) console.log(`${PAGE} is up to date`);
else {
  writeFileSync(PAGE, next);
  console.log(`${PAGE} written`);
}
