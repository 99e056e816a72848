// What a caller may do with a job or a repository: one pure decision over facts fetched
// elsewhere (githubFacts.ts), asked by every route. Its tests are a table.
import type { Caller } from './caller.js';

export type RepoPermission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';
export type Action = 'submit' | 'read' | 'cancel';

const RANK: Record<RepoPermission, number> = { none: 0, read: 1, triage: 2, write: 3, maintain: 4, admin: 5 };

export const atLeast = (p: RepoPermission, needed: RepoPermission): boolean => RANK[p] >= RANK[needed];

export interface AccessFacts {
  /** The caller's permission on the repository (only asked for users). */
  permission: RepoPermission;
  /** Whether the caller is the job's requester (read and cancel). */
  isRequester: boolean;
}

export type Decision = 'allow' | 'not-found' | 'forbidden';

/**
 * submit: write permission. read: the requester, or read permission. cancel: the
 * requester or write permission; one who cannot read it is told it does not exist.
 * The worker token (either mode) may do everything.
 */
export function decide(caller: Caller, action: Action, facts: AccessFacts): Decision {
  if (caller.kind === 'admin') return 'allow';
  const { permission, isRequester } = facts;
  const canRead = isRequester || atLeast(permission, 'read');
  switch (action) {
    case 'submit':
      return atLeast(permission, 'write') ? 'allow' : 'forbidden';
    case 'read':
      return canRead ? 'allow' : 'not-found';
    case 'cancel':
      if (!canRead) return 'not-found';
      return isRequester || atLeast(permission, 'write') ? 'allow' : 'forbidden';
    default: {
      const never: never = action;
      return never;
    }
  }
}
