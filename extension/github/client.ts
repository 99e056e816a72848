// The Octokit the extension uses: the user's token, GitHub.com or Enterprise, typed
// REST methods (`octokit.rest.*`, @octokit/rest), retries for 5xx and backoff for
// rate limits (Octokit's own plugins).
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck';
import { createHash } from 'node:crypto';

export const GitHubClient = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof GitHubClient>;

export interface ClientOptions {
  token: string;
  /** REST base, e.g. https://api.github.com or https://ghe.example.com/api/v3. */
  baseUrl?: string;
  userAgent?: string;
  /** Scales Retry-After waits (tests pass 1 to wait milliseconds instead of seconds). */
  retryAfterBaseValue?: number;
  onRetry?: (what: string, retryAfterSeconds: number) => void;
  /** Benchmarks compare protocols without the plugin's queues; the product keeps them on. */
  throttle?: boolean;
}

// The throttling plugin's default queues space every write (and every GraphQL call,
// queries included) one second apart, across all clients of the process. GitHub asks
// for that spacing in bulk content creation; a delegation makes one query and one
// mutation for one user, so the spacing would only add a second to every PR. Writes
// stay one at a time per token; rate-limit answers are still honoured below.
const writeQueues = new Bottleneck.Group({ id: 'kiro-write', maxConcurrent: 1, minTime: 0 });
const noop = () => undefined;

export function createGitHubClient(opts: ClientOptions): GitHubClient {
  return new GitHubClient({
    auth: opts.token,
    baseUrl: opts.baseUrl ?? 'https://api.github.com',
    userAgent: opts.userAgent ?? 'kiro-delegate',
    // @octokit/rest logs every failed request as an error, 304s included (an unchanged
    // poll); callers handle their errors, so only Octokit's own warnings are shown.
    log: { debug: noop, info: noop, warn: console.warn.bind(console), error: noop },
    retry: { retries: 3 },
    throttle: {
      enabled: opts.throttle ?? true,
      id: createHash('sha256').update(opts.token).digest('hex').slice(0, 16),
      write: writeQueues,
      retryAfterBaseValue: opts.retryAfterBaseValue ?? 1000,
      onRateLimit: (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
        opts.onRetry?.(`rate limit on ${options.method} ${options.url}`, retryAfter);
        return retryCount < 1;
      },
      onSecondaryRateLimit: (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
        opts.onRetry?.(`secondary rate limit on ${options.method} ${options.url}`, retryAfter);
        return retryCount < 2;
      },
    },
  });
}

// URL helpers live apart from Octokit, so that modules needing only them do not load it.
export { webUrlOf, graphqlUrl } from './urls.js';
