// What a verified webhook delivery asks for, read from its payload like a request body:
// only the fields used, each checked. `null`: nothing to do (another action, no `/kiro`).
import { isValidOwner, isValidRepo } from '../../shared/names.js';
import { stripHidden } from './sanitize.js';

export interface Actor {
  login: string;
  /** A bot account (`type: Bot`, or a `[bot]` login). */
  bot: boolean;
}

/** What a reaction can be put on: GitHub has none for a review itself. */
export type ReactionTarget = { kind: 'issue-comment' | 'review-comment' | 'issue'; id: number };

interface Base {
  owner: string;
  repo: string;
  /** The pull request's or the issue's number. */
  number: number;
  actor: Actor;
  /** The App installation the delivery came from (an App's webhook), if any. */
  installationId?: number;
}

export type Trigger =
  | (Base & { kind: 'pr-comment'; instructions: string; commentId: number; url: string })
  | (Base & { kind: 'review'; reviewId: number; body: string; url: string })
  | (Base & { kind: 'issue'; title: string; body: string; instructions: string; reactTo: ReactionTarget; url: string });

export const COMMAND = '/kiro';
export const LABEL = 'kiro';

/** `/kiro <instructions>` at the start of a comment: the instructions ('' for a bare `/kiro`), or null. */
export function commandOf(text: string): string | null {
  const m = /^\s*\/kiro(?:\s+([\s\S]*))?$/i.exec(stripHidden(text));
  return m ? (m[1] ?? '').trim() : null;
}

/** Whether `/kiro` stands anywhere in the text as a word (a review's body, an inline comment). */
export function mentionsCommand(text: string): boolean {
  return /(^|\s)\/kiro(?=\s|$|[.,:;!?])/i.test(stripHidden(text));
}

/** The text without its `/kiro` words. */
export function withoutCommand(text: string): string {
  return stripHidden(text)
    .replace(/(^|\s)\/kiro(?=\s|$|[.,:;!?])/gi, '$1')
    .trim();
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined);

export class PayloadError extends Error {}

function base(p: Obj, number: unknown): Base {
  const repo = obj(p.repository);
  const owner = str(obj(repo?.owner)?.login);
  const name = str(repo?.name);
  const sender = obj(p.sender);
  const login = str(sender?.login);
  const n = int(number);
  if (!owner || !isValidOwner(owner) || !name || !isValidRepo(name)) throw new PayloadError('the payload has no valid repository');
  if (!login || !/^[A-Za-z0-9-]{1,39}(\[bot\])?$/.test(login)) throw new PayloadError('the payload has no valid sender');
  if (n === undefined) throw new PayloadError('the payload has no valid issue or pull request number');
  const installationId = int(obj(p.installation)?.id);
  return {
    owner,
    repo: name,
    number: n,
    actor: { login, bot: sender?.type === 'Bot' || login.endsWith('[bot]') },
    ...(installationId !== undefined ? { installationId } : {}),
  };
}

/** The trigger of one delivery (event name and parsed JSON payload), or null when it asks nothing. */
export function triggerOf(event: string, payload: unknown): Trigger | null {
  const p = obj(payload);
  if (!p) throw new PayloadError('the payload is not a JSON object');
  const action = str(p.action);
  if (event === 'issue_comment' && action === 'created') {
    const comment = obj(p.comment);
    const issue = obj(p.issue);
    const instructions = commandOf(str(comment?.body) ?? '');
    if (instructions === null) return null;
    const id = int(comment?.id);
    const url = str(comment?.html_url) ?? '';
    if (id === undefined) throw new PayloadError('the comment has no id');
    const b = base(p, issue?.number);
    if (obj(issue?.pull_request)) return { ...b, kind: 'pr-comment', instructions, commentId: id, url };
    return {
      ...b,
      kind: 'issue',
      title: stripHidden(str(issue?.title) ?? '').trim(),
      body: stripHidden(str(issue?.body) ?? ''),
      instructions,
      reactTo: { kind: 'issue-comment', id },
      url,
    };
  }
  if (event === 'pull_request_review' && action === 'submitted') {
    const review = obj(p.review);
    const id = int(review?.id);
    if (id === undefined) throw new PayloadError('the review has no id');
    // Whether its inline comments say /kiro is asked of GitHub (the payload does not carry them).
    return {
      ...base(p, obj(p.pull_request)?.number),
      kind: 'review',
      reviewId: id,
      body: str(review?.body) ?? '',
      url: str(review?.html_url) ?? '',
    };
  }
  if (event === 'issues' && action === 'labeled') {
    if (str(obj(p.label)?.name)?.toLowerCase() !== LABEL) return null;
    const issue = obj(p.issue);
    if (obj(issue?.pull_request)) return null;
    const b = base(p, issue?.number);
    return {
      ...b,
      kind: 'issue',
      title: stripHidden(str(issue?.title) ?? '').trim(),
      body: stripHidden(str(issue?.body) ?? ''),
      instructions: '',
      reactTo: { kind: 'issue', id: b.number },
      url: str(issue?.html_url) ?? '',
    };
  }
  return null;
}

/** The events a delivery may be about that start work; any other is acknowledged and ignored. */
export const HANDLED_EVENTS = new Set(['issue_comment', 'pull_request_review', 'issues']);
