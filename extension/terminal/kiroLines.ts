// Kiro's own lines in the agent's terminal: the worker's notes and the extension's
// header, end-of-log, usage and reconnecting lines. Each starts, at column 0 of a row of
// its own, with MARKER, a character the agent can never put on the screen: the sanitizer
// replaces it (and the characters that look like it) in everything the agent prints,
// and in the text of these lines too (a note's or an error's text may quote the agent).
// Colours alone would not do: the agent may use any colour. Plain module (no vscode).

/** The first character of every line of Kiro's own. */
export const MARKER = '\u25c6'; // ◆ BLACK DIAMOND

/**
 * MARKER and what looks like it in a terminal font, never shown from the agent's text
 * (each becomes REPLACEMENT): the diamonds and lozenges of the Basic Multilingual Plane
 * (every character there whose Unicode name says DIAMOND or LOZENGE) and the combining
 * enclosing diamond. Emoji diamonds (U+1F536…) are two cells wide and in colour. A list
 * of lookalikes is a courtesy, never complete (ASCII art can draw a diamond): what is
 * guaranteed is that MARKER itself never comes from the agent.
 */
/** Written as the contents of a regular-expression class (ranges with "-"). */
export const LOOKALIKE_RANGES =
  '\u20df\u22c4\u2311\u233a\u235a\u25c6-\u25c8\u25ca\u2662\u2666\u26cb\u2756\u27d0\u27e0-\u27e3\u291d-\u2920\u29ea\u29eb\u29f0\u29f1\u2b16-\u2b19\u2b25-\u2b2b\u2bc1\u2bde';
export const REPLACEMENT = '?';

const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
const BREAKS = /[\t\n\r\u2028\u2029]/g;
const LOOKALIKE = new RegExp(`[${LOOKALIKE_RANGES}]`, 'g');

/** Text for one of Kiro's lines: one line, no control character (so no escape sequence), no MARKER or lookalike. */
export function lineText(text: string): string {
  return text.replace(BREAKS, ' ').replace(CONTROLS, '').replace(LOOKALIKE, REPLACEMENT);
}

const RESET = '\x1b[0m';

/** A note of the worker's, as the terminal shows it: `◆ [kiro-worker] text`, cyan. No line break around it. */
export function noteLine(text: string): string {
  return `${RESET}\x1b[1;36m${MARKER} [kiro-worker]\x1b[22m ${lineText(text)}${RESET}`;
}

/**
 * A line of the extension's: `◆ text`, bold (how the job ended) or dim (the header, usage,
 * connection notices). No line break around it: the sanitizer's line() places it.
 */
export function kiroLine(text: string, tone: 'strong' | 'dim'): string {
  const style = tone === 'strong' ? '\x1b[1m' : '\x1b[2m';
  return `${RESET}\x1b[1;36m${MARKER}\x1b[22;39m${style} ${lineText(text)}${RESET}`;
}
