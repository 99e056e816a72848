// The stand-in's web pages, so the links the extension opens lead somewhere in the
// demo and in tests: a pull request (/<owner>/<repo>/pull/<n>), its diff
// (…/pull/<n>/files) and a file on a branch (/<owner>/<repo>/blob/<branch>/<path>).
// Minimal and self-contained: no script, no external asset, every value escaped.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { GitError } from '../../../worker-service/git/run.js';
import type { Model, PullRequest, Repo } from './model.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Escaped text with http(s) links made clickable (nothing else is interpreted). */
function linkified(text: string): string {
  return escapeHtml(text).replace(/https?:\/\/[\w.:/%#?=~+@-]+/g, (url) => `<a href="${url}">${url}</a>`);
}

const STYLE = `body{font:14px/1.5 system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#1f2328}
a{color:#0969da}h1{font-size:24px;font-weight:400;margin:0 0 8px}h1 .n{color:#59636e}
.state{display:inline-block;border-radius:2em;padding:2px 12px;color:#fff;font-weight:600;margin-right:8px}
.open{background:#1f883d}.closed{background:#cf222e}.merged{background:#8250df}.draft{background:#59636e}
.branch{font-family:ui-monospace,monospace;background:#ddf4ff;padding:0 6px;border-radius:6px}
nav{border-bottom:1px solid #d1d9e0;margin:16px 0}nav a{display:inline-block;padding:8px 16px;text-decoration:none;color:#1f2328}
nav a.on{border-bottom:2px solid #fd8c73;font-weight:600}
.box{border:1px solid #d1d9e0;border-radius:6px;margin:12px 0}.box h3{margin:0;padding:8px 12px;background:#f6f8fa;font-size:13px;border-bottom:1px solid #d1d9e0}
.box pre,.body{margin:0;padding:12px;white-space:pre-wrap;font-family:inherit}
ul.commits{list-style:none;margin:0;padding:0}ul.commits li{padding:8px 12px;border-top:1px solid #d1d9e0}ul.commits li:first-child{border-top:0}
.sha{font-family:ui-monospace,monospace;color:#59636e;float:right}.muted{color:#59636e}
pre.diff{font:12px/1.45 ui-monospace,monospace;white-space:pre;overflow:auto;margin:0;padding:8px 0}
pre.diff span{display:block;padding:0 12px}.add{background:#dafbe1}.del{background:#ffebe9}.hunk{background:#ddf4ff;color:#59636e}.file{font-weight:600;background:#f6f8fa}`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>\n${body}\n</body></html>\n`;
}

function stateOf(pr: PullRequest): 'open' | 'closed' | 'merged' | 'draft' {
  if (pr.merged) return 'merged';
  if (pr.state === 'closed') return 'closed';
  return pr.draft ? 'draft' : 'open';
}

function header(repo: Repo, pr: PullRequest, commits: number, tab: 'conversation' | 'files'): string {
  const base = `/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}/pull/${pr.number}`;
  const state = stateOf(pr);
  return `<p class="muted">${escapeHtml(`${repo.owner}/${repo.name}`)} · GitHub stand-in</p>
<h1>${escapeHtml(pr.title)} <span class="n">#${pr.number}</span></h1>
<p><span class="state ${state}">${state[0]?.toUpperCase()}${state.slice(1)}</span>${escapeHtml(pr.author)} wants to merge ${commits} commit${commits === 1 ? '' : 's'} into <span class="branch">${escapeHtml(pr.base)}</span> from <span class="branch">${escapeHtml(pr.head)}</span></p>
<nav><a href="${base}"${tab === 'conversation' ? ' class="on"' : ''}>Conversation</a><a href="${base}/files"${tab === 'files' ? ' class="on"' : ''}>Files changed</a></nav>`;
}

/** `git diff base...head` as lines, each classed for colour. */
export function diffHtml(diff: string): string {
  const lines = diff
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => {
      const cls = l.startsWith('diff --git')
        ? 'file'
        : l.startsWith('@@')
          ? 'hunk'
          : l.startsWith('+') && !l.startsWith('+++')
            ? 'add'
            : l.startsWith('-') && !l.startsWith('---')
              ? 'del'
              : '';
      return `<span${cls ? ` class="${cls}"` : ''}>${escapeHtml(l) || ' '}</span>`;
    });
  return `<pre class="diff">${lines.join('')}</pre>`;
}

export function registerWebPages(app: FastifyInstance, model: Model): void {
  type P = Record<string, string>;
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(body);
  const notFound = (reply: FastifyReply) => html(reply, 404, page('Not Found', '<h1>404: not found</h1>'));
  // A browser sends no token: public repositories only, as on github.com when signed out.
  const pullOf = (params: P) => {
    const repo = model.visibleRepo(params.owner ?? '', params.repo ?? '', undefined);
    const pr = repo?.pulls.find((p) => String(p.number) === params.number);
    return repo && pr ? { repo, pr } : undefined;
  };
  const commitsOf = async (repo: Repo, pr: PullRequest) =>
    (await repo.bare.resolve(`refs/heads/${pr.head}`)) && (await repo.bare.resolve(`refs/heads/${pr.base}`))
      ? repo.bare.log(`refs/heads/${pr.base}..refs/heads/${pr.head}`)
      : [];

  app.get('/:owner/:repo/pull/:number', async (req, reply) => {
    const found = pullOf(req.params as P);
    if (!found) return notFound(reply);
    const { repo, pr } = found;
    const commits = await commitsOf(repo, pr);
    const comments = repo.comments.filter((c) => c.issueNumber === pr.number);
    const body = `${header(repo, pr, commits.length, 'conversation')}
<div class="box"><h3>${escapeHtml(pr.author)} opened this pull request</h3><div class="body">${pr.body ? linkified(pr.body) : '<span class="muted">No description provided.</span>'}</div></div>
<div class="box"><h3>Commits on ${escapeHtml(pr.head)}</h3><ul class="commits">${
      commits.length === 0
        ? '<li class="muted">No commits (the branch is gone, or level with the base).</li>'
        : commits
            .slice()
            .reverse()
            .map(
              (c) =>
                `<li><span class="sha">${escapeHtml(c.oid.slice(0, 7))}</span>${escapeHtml(c.subject)} <span class="muted">· ${escapeHtml(c.author)}</span></li>`,
            )
            .join('')
    }</ul></div>
${comments.map((c) => `<div class="box comment"><h3>${escapeHtml(c.author)} commented on ${escapeHtml(c.createdAt)}</h3><div class="body">${linkified(c.body)}</div></div>`).join('\n')}`;
    return html(reply, 200, page(`${pr.title} by ${pr.author} · Pull Request #${pr.number}`, body));
  });

  app.get('/:owner/:repo/pull/:number/files', async (req, reply) => {
    const found = pullOf(req.params as P);
    if (!found) return notFound(reply);
    const { repo, pr } = found;
    const commits = await commitsOf(repo, pr);
    let diff = '';
    try {
      // Argv only: the three-dot range is one argument, `--` ends the revisions.
      if (commits.length > 0)
        diff = await repo.bare.git(['diff', '--no-color', '--no-ext-diff', `refs/heads/${pr.base}...refs/heads/${pr.head}`, '--']);
    } catch (e) {
      if (!GitError.is(e)) throw e;
    }
    const body = `${header(repo, pr, commits.length, 'files')}
<div class="box"><h3>${escapeHtml(pr.base)}...${escapeHtml(pr.head)}</h3>${diff ? diffHtml(diff) : '<p class="body muted">No changes.</p>'}</div>`;
    return html(reply, 200, page(`Files changed · Pull Request #${pr.number}`, body));
  });

  // /<owner>/<repo>/blob/<branch>/<path>: the branch may contain slashes; the longest existing one wins.
  app.get('/:owner/:repo/blob/*', async (req, reply) => {
    const params = req.params as P;
    const repo = model.visibleRepo(params.owner ?? '', params.repo ?? '', undefined);
    if (!repo) return notFound(reply);
    const parts = (params['*'] ?? '').split('/'); // already decoded by the router
    for (let i = parts.length - 1; i >= 1; i--) {
      const branch = parts.slice(0, i).join('/');
      const path = parts.slice(i).join('/');
      if (!(await repo.bare.resolve(`refs/heads/${branch}`))) continue;
      const text = await repo.bare.readFile(`refs/heads/${branch}`, path);
      if (text === null) return notFound(reply);
      return html(
        reply,
        200,
        page(
          `${path} at ${branch} · ${repo.owner}/${repo.name}`,
          `<p class="muted">${escapeHtml(`${repo.owner}/${repo.name}`)} · <span class="branch">${escapeHtml(branch)}</span></p>
<div class="box"><h3>${escapeHtml(path)}</h3><pre>${escapeHtml(text)}</pre></div>`,
        ),
      );
    }
    return notFound(reply);
  });
}
