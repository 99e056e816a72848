// GitHub-style primary rate limits: a budget per token and resource, reported in
// x-ratelimit-* headers. A conditional request answered 304 costs nothing.
export type Resource = 'core' | 'graphql';

export class RateLimits {
  private readonly used = new Map<string, number>();
  readonly reset = Math.floor(Date.now() / 1000) + 3600;
  constructor(readonly limit = 5000) {}

  private key(who: string, resource: Resource): string {
    return `${resource}:${who}`;
  }

  spend(who: string, resource: Resource, points = 1): void {
    const k = this.key(who, resource);
    this.used.set(k, (this.used.get(k) ?? 0) + points);
  }

  remaining(who: string, resource: Resource): number {
    return Math.max(0, this.limit - (this.used.get(this.key(who, resource)) ?? 0));
  }

  headers(who: string, resource: Resource): Record<string, string> {
    const used = this.used.get(this.key(who, resource)) ?? 0;
    return {
      'x-ratelimit-limit': String(this.limit),
      'x-ratelimit-remaining': String(Math.max(0, this.limit - used)),
      'x-ratelimit-reset': String(this.reset),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': resource,
    };
  }
}
