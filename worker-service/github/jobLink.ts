// The link that opens a job's agent terminal in VS Code: the extension's URI handler
// (vscode://<publisher>.<name>/job/<id>) through VS Code's redirect page, since GitHub
// renders only http(s) links. The check run and the summary comment carry it.

/** The extension's id (package.json publisher.name). */
export const EXTENSION_ID = 'kiro-delegate.kiro-delegate';

export function openInVsCodeUrl(jobId: string): string {
  return `https://vscode.dev/redirect?url=${encodeURIComponent(`vscode://${EXTENSION_ID}/job/${jobId}`)}`;
}
