// Git smart HTTP for the stand-in: requests go to the real `git http-backend`
// CGI, after the same token check GitHub makes (Basic with the token as password,
// or Bearer). Fetching needs read access, pushing needs write access.
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Model, User } from './model.js';

export function tokenFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme = '', value = ''] = header.split(' ', 2);
  if (/^(bearer|token)$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1) || undefined;
  }
  return undefined;
}

const GIT_PATH = /^\/([^/]+)\/([^/]+)\.git(\/(?:info\/refs|git-upload-pack|git-receive-pack|HEAD))$/;

export interface GitRequest {
  owner: string;
  repo: string;
  /** upload-pack: a fetch or clone; receive-pack: a push (its ref advertisement included). */
  service: 'upload-pack' | 'receive-pack';
}

/** What a git smart HTTP request is for, or undefined when the URL is no git request. */
export function gitRequestOf(rawUrl: string | undefined): GitRequest | undefined {
  const url = new URL(rawUrl ?? '/', 'http://stand-in');
  const m = GIT_PATH.exec(url.pathname);
  if (!m) return undefined;
  const push = m[3] === '/git-receive-pack' || url.searchParams.get('service') === 'git-receive-pack';
  return { owner: m[1] ?? '', repo: m[2] ?? '', service: push ? 'receive-pack' : 'upload-pack' };
}

/** Handles the request when it is a git smart HTTP request; returns false otherwise. */
export function handleGitHttp(
  model: Model,
  req: IncomingMessage,
  res: ServerResponse,
  onRequest: (user: User | undefined, push: boolean) => void,
): boolean {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const m = GIT_PATH.exec(url.pathname);
  if (!m) return false;
  const [, owner = '', name = '', rest = ''] = m;
  const push = rest === '/git-receive-pack' || url.searchParams.get('service') === 'git-receive-pack';
  const user = model.userForToken(tokenFromAuthorization(req.headers.authorization));
  onRequest(user, push);
  const repo = model.repo(owner, name);
  const deny = (status: number, text: string) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...(status === 401 ? { 'www-authenticate': 'Basic realm="GitHub"' } : {}) });
    res.end(`${text}\n`);
  };
  if (!user) {
    deny(401, 'Authentication required: a token is needed for this stand-in.');
    return true;
  }
  if (!repo || !model.permission(repo, user)) {
    deny(404, 'Repository not found.');
    return true;
  }
  if (push && !model.can(repo, user, 'WRITE')) {
    deny(403, `Permission to ${owner}/${name}.git denied to ${user.login}.`);
    return true;
  }
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: model.root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: model.root,
      PATH_INFO: `/${repo.owner}/${repo.name}.git${rest}`,
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      REMOTE_USER: user.login,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    },
  });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined); // the backend may stop reading early on errors
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    const endLf = head.indexOf('\n\n');
    const cut = end >= 0 ? end : endLf;
    if (cut < 0) return;
    const sep = end >= 0 ? 4 : 2;
    const headers: Record<string, string> = {};
    let status = 200;
    for (const line of head.subarray(0, cut).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      if (k === 'status') status = Number.parseInt(v, 10);
      else headers[k] = v;
    }
    res.writeHead(status, headers);
    headersDone = true;
    res.write(head.subarray(cut + sep));
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('close', (code) => {
    if (!headersDone) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git http-backend failed (${code}): ${stderr}`);
    } else res.end();
  });
  return true;
}
