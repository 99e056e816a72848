// The service's version, reported by /health. Bumped with the root package.json.
export const VERSION = '0.1.0';
