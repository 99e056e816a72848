// Whether a credential may go to a URL, asking the user (a modal) before plain HTTP to another machine.
import * as vscode from 'vscode';
import { plainHttpWarning, transportDecision } from './trust.js';
import { PLAIN_HTTP_ORIGINS_KEY } from './secretKeys.js';

export type Verdict = { ok: true } | { ok: false; message: string };

export class PlainHttpConsent {
  /** Plain-HTTP origins the user said no to in this window (not asked again until they retry). */
  private readonly declined = new Set<string>();
  private readonly asking = new Map<string, Promise<boolean>>();

  constructor(
    private readonly globalState: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /**
   * Whether a credential may go to `url`: https, or plain http to this machine, at once;
   * plain http to another machine only once the user agreed for exactly that origin (a
   * modal that names the risk, asked once however many requests wait; a yes is remembered).
   */
  async mayCarryCredentials(url: string, what: string): Promise<Verdict> {
    const decision = transportDecision(url, this.globalState.get<string[]>(PLAIN_HTTP_ORIGINS_KEY) ?? []);
    if (decision.kind === 'send') return { ok: true };
    if (decision.kind === 'refuse') return { ok: false, message: `Kiro did not send ${what}: ${decision.reason}.` };
    const { origin } = decision;
    const no: Verdict = {
      ok: false,
      message: `Kiro did not send ${what} to ${origin}: that is plain HTTP to another machine, and you did not agree to it. Use an https:// address, or retry and agree.`,
    };
    if (this.declined.has(origin)) return no;
    let asking = this.asking.get(origin);
    if (!asking) {
      asking = this.ask(origin, what).finally(() => this.asking.delete(origin));
      this.asking.set(origin, asking);
    }
    return (await asking) ? { ok: true } : no;
  }

  /** "Retry" after a refused transport: ask again. */
  forgetDeclined(): void {
    this.declined.clear();
  }

  private async ask(origin: string, what: string): Promise<boolean> {
    const w = plainHttpWarning(origin, what);
    const pick = await vscode.window.showWarningMessage(w.message, { modal: true, detail: w.detail }, w.agree);
    if (pick !== w.agree) {
      this.declined.add(origin);
      this.log.warn(`credentials not sent to ${origin}: plain HTTP, and the user did not agree`);
      return false;
    }
    const agreed = this.globalState.get<string[]>(PLAIN_HTTP_ORIGINS_KEY) ?? [];
    await this.globalState.update(PLAIN_HTTP_ORIGINS_KEY, [...new Set([...agreed, origin])]);
    this.log.info(`the user agreed to send credentials to ${origin} over plain HTTP`);
    return true;
  }
}
