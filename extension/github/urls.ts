// GitHub URLs derived from the REST API base (github.com or GitHub Enterprise), without Octokit.

/** GitHub's web address for a REST base: github.com for api.github.com, the server for an Enterprise …/api/v3. */
export function webUrlOf(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  if (trimmed.endsWith('/api/v3')) return trimmed.slice(0, -'/api/v3'.length);
  return trimmed.replace(/^(https?:\/\/)api\./, '$1');
}

/** GraphQL endpoint for a REST base: /graphql on GitHub.com, /api/graphql on Enterprise (…/api/v3). */
export function graphqlUrl(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  return trimmed.endsWith('/api/v3') ? `${trimmed.slice(0, -'/v3'.length)}/graphql` : `${trimmed}/graphql`;
}
