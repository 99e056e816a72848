// The worker's configuration: environment variables, under which a JSON file named by
// KIRO_WORKER_CONFIG may add to them. Every variable is declared once in config/schema.ts;
// bad configuration stops the service at start with a message naming the variable.
// This module is the import path the rest of the code uses.
import { PRESETS } from './agent/presets.js';

export { ConfigError, type ConfigWarning } from './config/kinds.js';
export { isLoopback, loadConfig, readConfig, type ConfigReport } from './config/load.js';
export { repoAllowed, type RepoRule } from './config/repoPolicy.js';
export type { FleetConfig, IdentityConfig, NetworkPolicy, SandboxConfig, WebhookConfig, WorkerConfig } from './config/types.js';

export const DEFAULT_AGENT_COMMAND = [...PRESETS.kiro.command];
