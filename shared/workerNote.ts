// The worker's own notes in a job's log ("blocked: registry.npmjs.org:443 …", "job
// succeeded"): the same byte stream as the agent's output, on a channel the agent cannot
// write to. The worker removes every APC string from what the agent prints and writes
// each note as one:
//
//   CR LF  ESC _  "kiro-note" SP  <JSON {"text": "…"}>  ESC \  CR LF
//
// The JSON holds no control character and no C1 character (each is written \uXXXX), so
// nothing in it ends the string early. Readers ignore JSON fields they do not know.
// Written by the worker (worker-service/jobs/log.ts); read by the extension's terminal
// (extension/terminal/sanitizer.ts) and by readers of the raw log (renderNotes).

/** What an APC string's body starts with when it is a note. */
export const NOTE_TAG = 'kiro-note ';

/** One note as the worker writes it into the log. */
export function formatNote(text: string): string {
  // JSON.stringify escapes C0 controls already; DEL, C1 and the Unicode line separators are escaped here.
  const json = JSON.stringify({ text }).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `\r\n\x1b_${NOTE_TAG}${json}\x1b\\\r\n`;
}

/**
 * The note's text from an APC string's body (what stands between ESC _ and ESC \), or
 * null when the body is not a note: another tag, JSON that does not parse, no string `text`.
 */
export function parseNoteBody(body: string): string | null {
  if (!body.startsWith(NOTE_TAG)) return null;
  try {
    const v: unknown = JSON.parse(body.slice(NOTE_TAG.length));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    const text = (v as { text?: unknown }).text;
    return typeof text === 'string' ? text : null;
  } catch {
    return null;
  }
}

const NOTE = /\x1b_(kiro-note [^\x1b]*)\x1b\\/g;

/** Log text with each note written as the line "[kiro-worker] text" (how the job's tail shows it; for readers of the raw log). */
export function renderNotes(text: string): string {
  return text.replace(NOTE, (_whole, body: string) => {
    const t = parseNoteBody(body);
    return t === null ? '' : `[kiro-worker] ${t}`;
  });
}
