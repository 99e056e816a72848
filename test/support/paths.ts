// Where test helpers find built artefacts.
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const fakeKiroPath = fileURLToPath(new URL('../../dist/test/fake-kiro.mjs', import.meta.url));
export const hostileAgentPath = fileURLToPath(new URL('../../dist/test/hostile-agent.mjs', import.meta.url));
