// The routes that take no credential: the probes (a load balancer has no token), the
// sign-in exchange, and GitHub's webhook (checked by its signature instead).
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['GET /healthz', 'GET /readyz', 'POST /auth/github', 'POST /github/webhook']);
