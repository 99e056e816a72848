// The GitHub App's settings: both variables or neither, and a readable RSA private key in PEM.
// With an App, KIRO_GITHUB_TOKEN is refused rather than silently ignored: a leftover personal
// token would still sit in the service's environment, reaching every repository its owner can.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './kinds.js';

/** KIRO_GITHUB_APP_ID's syntax (the pairing and the key are checked by githubAppProblems). */
export function parseAppId(raw: string | undefined, name: string): number | undefined {
  const id = raw?.trim();
  if (!id) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(id)) throw new ConfigError(name, `expected the App's numeric ID, got ${JSON.stringify(id)}`);
  return Number(id);
}

/** Why the key file is not a GitHub App's key, or null when it is one. */
export function pemProblem(path: string): string | null {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    return `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  let rsa = false;
  try {
    rsa = pem.includes('-----BEGIN') && createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    /* reported below */
  }
  return rsa ? null : `${path} is not an RSA private key in PEM (expected the .pem file GitHub generated for the App)`;
}

export function githubAppProblems(id: number | undefined, keyFile: string | undefined, hasToken: boolean): ConfigError[] {
  if (id === undefined && keyFile === undefined) return [];
  if (id === undefined)
    return [new ConfigError('KIRO_GITHUB_APP_ID', "required with KIRO_GITHUB_APP_PRIVATE_KEY_FILE: the GitHub App's numeric App ID")];
  if (keyFile === undefined)
    return [
      new ConfigError(
        'KIRO_GITHUB_APP_PRIVATE_KEY_FILE',
        'required with KIRO_GITHUB_APP_ID: the path of the private key (.pem) generated for the GitHub App',
      ),
    ];
  const problem = pemProblem(keyFile);
  if (problem) return [new ConfigError('KIRO_GITHUB_APP_PRIVATE_KEY_FILE', problem)];
  if (hasToken) {
    return [
      new ConfigError(
        'KIRO_GITHUB_TOKEN',
        'set either a GitHub App (KIRO_GITHUB_APP_ID and KIRO_GITHUB_APP_PRIVATE_KEY_FILE) or KIRO_GITHUB_TOKEN, not both; remove the personal token when using the App',
      ),
    ];
  }
  return [];
}
