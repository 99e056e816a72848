// What an agent reported spending, read from its JSON events by its parser
// (parsers/claude.ts, codex.ts, gemini.ts), and the job's token budget
// (KIRO_JOB_MAX_TOKENS) it is held to. A plain-text agent reports nothing: its
// usage is null, never a zero that would look measured. A count the CLI printed
// wrongly (negative, fractional, not a number) is no count: that event's usage is
// left out rather than guessed.
import type { JobUsage } from '../../shared/protocol.js';

export type { JobUsage } from '../../shared/protocol.js';

/** A token count as a CLI printed it: a non-negative safe integer, else null. */
export function tokenCount(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** A cost in US dollars as a CLI printed it: finite and non-negative, else null. */
export function costUsd(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

/** Two reports summed; a cost only when both say one (half a cost would read as the whole). */
export function addUsage(a: JobUsage, b: JobUsage): JobUsage {
  const cost = a.costUsd !== undefined && b.costUsd !== undefined ? { costUsd: a.costUsd + b.costUsd } : {};
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, ...cost };
}

export function sameUsage(a: JobUsage | null, b: JobUsage | null): boolean {
  return (
    a === b || (a !== null && b !== null && a.inputTokens === b.inputTokens && a.outputTokens === b.outputTokens && a.costUsd === b.costUsd)
  );
}

/** What the budget counts: input plus output tokens. */
export function usageTokens(u: JobUsage): number {
  return u.inputTokens + u.outputTokens;
}

/** 12345 → "12,345" (not the locale's: the service's and a reader's may differ). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "$0.04"; a cost under a cent that is not zero reads "< $0.01" rather than a "$0.00" that looks free. */
export function formatCost(usd: number): string {
  return usd > 0 && usd < 0.005 ? '< $0.01' : `$${usd.toFixed(2)}`;
}

/** "12,345 input / 2,345 output tokens · $0.04" (the cost only where the agent reported one). */
export function formatUsage(u: JobUsage): string {
  const cost = u.costUsd !== undefined ? ` · ${formatCost(u.costUsd)}` : '';
  return `${formatCount(u.inputTokens)} input / ${formatCount(u.outputTokens)} output tokens${cost}`;
}

/** A job whose agent went over its token budget: it is stopped and fails with this. */
export interface BudgetViolation {
  code: 'BUDGET_EXCEEDED';
  message: string;
}

/**
 * Whether the reported usage has passed the budget (strictly more tokens than it allows).
 * No budget, or no usage reported, is never over.
 */
export function budgetExceeded(usage: JobUsage | null, maxTokens: number | undefined): BudgetViolation | null {
  if (!usage || maxTokens === undefined) return null;
  const used = usageTokens(usage);
  if (used <= maxTokens) return null;
  return {
    code: 'BUDGET_EXCEEDED',
    message: `the agent reported ${formatCount(used)} tokens (${formatCount(usage.inputTokens)} input + ${formatCount(usage.outputTokens)} output), over the job's budget of ${formatCount(maxTokens)} tokens (KIRO_JOB_MAX_TOKENS)`,
  };
}
