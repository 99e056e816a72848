// The confirmation code the user sees, `PR<timestamp>`. It doubles as the worker's
// idempotency key (scoped there by repository and branch, since two users can
// submit in the same millisecond).
export const CONFIRMATION_RE = /^PR\d{13,16}$/;

export function confirmationCode(timestamp: number): string {
  return `PR${timestamp}`;
}

export function isConfirmationCode(text: string): boolean {
  return CONFIRMATION_RE.test(text);
}
