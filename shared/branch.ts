// Branch naming: `<prefix><slug>-<timestamp>`, plus a short random suffix when
// GitHub says the ref already exists. Every result passes isValidBranchName.
import { randomBytes } from 'node:crypto';
import { isValidBranchName } from './names.js';

const MAX_SLUG = 48;

/** Lower-case ASCII words joined by single hyphens; "task" when nothing is left. */
export function slugify(text: string): string {
  const slug = slugPart(text);
  return slug.length > 0 ? slug : 'task';
}

function slugPart(text: string): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // combining marks left by NFKD: "é" -> "e"
    .toLowerCase();
  const slug = ascii
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SLUG)
    .replace(/-+$/g, '');
  return slug;
}

/**
 * A user's branch prefix such as "kiro/" or "users/ana/": each path component is
 * slugified, so a hostile setting cannot produce an invalid ref. Empty stays empty.
 */
export function sanitizePrefix(prefix: string): string {
  const parts = prefix
    .split('/')
    .map(slugPart)
    .filter((p) => p.length > 0);
  return parts.length > 0 ? `${parts.join('/')}/` : '';
}

/** A short random suffix: 4 characters of [a-z0-9]. */
export function randomSuffix(bytes: (n: number) => Uint8Array = randomBytes): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(bytes(4), (b) => alphabet[b % alphabet.length]).join('');
}

export interface BranchNameInput {
  name: string;
  timestamp: number;
  prefix?: string;
  suffix?: string;
}

export function makeBranchName({ name, timestamp, prefix = '', suffix }: BranchNameInput): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError('timestamp must be a non-negative integer');
  const tail = suffix ? `-${suffix}` : '';
  const branch = `${sanitizePrefix(prefix)}${slugify(name)}-${timestamp}${tail}`;
  // Defence in depth: the construction above cannot fail this, and a test proves it.
  if (!isValidBranchName(branch)) throw new Error(`internal error: generated an invalid branch name: ${JSON.stringify(branch)}`);
  return branch;
}
