// VS Code's SecretStorage, in memory: what the extension's worker session keeps, for tests.
import type { SecretsLike } from '../../extension/worker/session.js';

export class MemorySecrets implements SecretsLike {
  readonly data = new Map<string, string>();
  async get(key: string) {
    return this.data.get(key);
  }
  async store(key: string, value: string) {
    this.data.set(key, value);
  }
  async delete(key: string) {
    this.data.delete(key);
  }
}
