// Where the extension keeps what the user gave it: SecretStorage keys, and one globalState key.
export const WORKER_TOKEN_KEY = 'kiroDelegate.workerToken';
export const GITHUB_TOKEN_KEY = 'kiroDelegate.githubToken';
/** globalState: the origins the user agreed to send credentials to over plain HTTP. */
export const PLAIN_HTTP_ORIGINS_KEY = 'kiroDelegate.plainHttpOrigins';
