// Where the extension may send a credential, decided in one place (plain, tested
// without VS Code): which settings may name the destination (never a workspace's),
// and over which transport (plain HTTP only to this machine, or to an origin the
// user agreed to once).

/**
 * What `WorkspaceConfiguration.inspect()` reports for one setting (the part used here).
 * `globalValue` is the user's (or, remotely, the machine's) settings; workspace values
 * come from the opened folder, i.e. from whoever wrote its `.vscode/settings.json`.
 */
export interface InspectedSetting<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

/** The settings that name where tokens go: a workspace may not set them. */
export const MACHINE_ONLY_SETTINGS = ['workerUrl', 'githubEnterpriseUrl'] as const;

/**
 * A setting read from the user's own settings only (then its default): a repository's
 * `.vscode/settings.json` could otherwise point the worker URL (and so the tokens) at a
 * server of its author. `ignored` is the workspace value that was set and not used.
 */
export function machineSetting<T>(inspected: InspectedSetting<T> | undefined, fallback: T): { value: T; ignored?: T } {
  const value = inspected?.globalValue ?? inspected?.defaultValue ?? fallback;
  const ignored = inspected?.workspaceFolderValue ?? inspected?.workspaceValue;
  return ignored !== undefined && ignored !== value ? { value, ignored } : { value };
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h === '[::1]' || h === '::1') return true;
  // The WHATWG URL parser has already normalised 127.1, 0x7f.1, 2130706433 and the like to dotted quads.
  const quad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return quad !== null && quad[1] === '127' && quad.slice(2).every((o) => Number(o) <= 255);
}

export type TransportDecision =
  /** https, or plain http to this machine: send. */
  | { kind: 'send'; origin: string }
  /** Plain http to another machine: only once the user agreed for exactly this origin. */
  | { kind: 'ask'; origin: string }
  /** Not a URL a credential may go to at all (another scheme, credentials in the URL, unparsable). */
  | { kind: 'refuse'; reason: string };

/** Whether a credential may be sent to `url`, given the origins the user agreed to send over plain HTTP. */
export function transportDecision(url: string, agreedOrigins: readonly string[]): TransportDecision {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { kind: 'refuse', reason: `"${url}" is not a URL` };
  }
  if (u.username || u.password)
    return {
      kind: 'refuse',
      reason: `${u.protocol}//${u.host} carries a user name or password in the URL; put tokens in Kiro's secret storage instead`,
    };
  if (u.protocol === 'https:') return { kind: 'send', origin: u.origin };
  if (u.protocol !== 'http:') return { kind: 'refuse', reason: `${u.protocol} is not http: or https:` };
  if (isLoopbackHost(u.hostname)) return { kind: 'send', origin: u.origin };
  return agreedOrigins.includes(u.origin) ? { kind: 'send', origin: u.origin } : { kind: 'ask', origin: u.origin };
}

/** The modal's words: what is at risk, and what to do instead. */
export function plainHttpWarning(origin: string, what: string): { message: string; detail: string; agree: string } {
  return {
    message: `Send ${what} to ${origin} over plain HTTP?`,
    detail: `${origin} is not this machine, and http:// is not encrypted: anyone on the network between you and it (shared Wi-Fi, a proxy, a compromised router) can read ${what} and use it as you — push code to your repositories, open pull requests, run jobs on the worker. Use an https:// address unless this network is private and you trust it. Kiro remembers your answer for exactly this address.`,
    agree: 'Send over HTTP',
  };
}
