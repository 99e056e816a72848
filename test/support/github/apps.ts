// GitHub Apps in the stand-in: a key pair for a test App (the private key written
// to a file, as GitHub hands it out) and the check GitHub makes of an App's JWT:
// RS256 signed by the App's key, `iss` the App's id (or client id), `iat` not in
// the future, `exp` in the future but at most ten minutes away.
import { generateKeyPairSync, verify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitHubApp, Model } from './model.js';

export interface AppKey {
  /** PKCS#1 PEM, the format of the .pem file GitHub generates for an App. */
  privateKeyPem: string;
  publicKeyPem: string;
  /** Where the private key was written (mode 0600). */
  privateKeyFile: string;
}

/** A fresh 2048-bit RSA key pair; the private key is written to `<dir>/<name>`. */
export async function makeAppKey(dir: string, name = 'app.private-key.pem'): Promise<AppKey> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privateKeyFile = join(dir, name);
  await writeFile(privateKeyFile, privateKeyPem, { mode: 0o600 });
  return { privateKeyPem, publicKeyPem, privateKeyFile };
}

/** Seconds a JWT's `iat` may be ahead of the stand-in's clock (GitHub allows for some drift). */
const CLOCK_DRIFT_S = 60;
const MAX_LIFETIME_S = 600;

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The App a JWT authenticates, or GitHub's 401 message for it. */
export function verifyAppJwt(model: Model, jwt: string | undefined, nowMs = Date.now()): { app: GitHubApp } | { error: string } {
  const undecodable = { error: 'A JSON web token could not be decoded' };
  const parts = jwt?.split('.') ?? [];
  if (parts.length !== 3) return undecodable;
  const [h = '', p = '', s = ''] = parts;
  const header = decodePart(h);
  const payload = decodePart(p);
  if (!header || !payload) return undecodable;
  if (header.alg !== 'RS256') return { error: `'alg' must be RS256, got ${JSON.stringify(header.alg)}` };
  const iss = payload.iss;
  const app = [...model.apps.values()].find(
    (a) => (typeof iss === 'number' || typeof iss === 'string') && (String(a.id) === String(iss) || a.clientId === iss),
  );
  if (!app) return { error: `'Issuer' claim ('iss') must be an Integer or a client ID of an existing GitHub App` };
  if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), app.publicKey, Buffer.from(s, 'base64url'))) {
    return { error: 'A JSON web token could not be decoded' };
  }
  const now = Math.floor(nowMs / 1000);
  const { iat, exp } = payload;
  if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > now + CLOCK_DRIFT_S) {
    return { error: `'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued` };
  }
  if (typeof exp !== 'number' || !Number.isInteger(exp) || exp <= now) {
    return { error: `'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires` };
  }
  if (exp > now + MAX_LIFETIME_S) return { error: `'Expiration time' claim ('exp') is too far in the future` };
  return { app };
}
