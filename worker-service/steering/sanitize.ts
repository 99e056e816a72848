// Text from GitHub on its way into TASK.md: what a reader of the comment cannot see must not
// steer the agent either. HTML comments (hidden in GitHub's rendering) and invisible
// characters (zero-width, bidirectional controls, tag characters, soft hyphens) are removed,
// as Copilot's coding agent and claude-code-action do; other control characters too.

// Zero-width and joiners, bidi embeddings/isolates/marks, word joiner and invisible operators,
// BOM, soft hyphen, Mongolian vowel separator, interlinear annotations, tag characters.
const INVISIBLE =
  /[\u17B4-\u17B5\u00AD\u061C\u115F-\u1160\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0\uFFF9-\uFFFB\u{E0000}-\u{E007F}]/gu;
// C0 and C1 controls but tab and newline (a carriage return becomes a newline first).
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

export function stripHidden(text: string): string {
  let out = text.replace(/\r\n?/g, '\n');
  // An unterminated comment hides everything after it on GitHub: so it does here.
  out = out.replace(/<!--[\s\S]*?(?:-->|$)/g, '');
  out = out.replace(INVISIBLE, '').replace(CONTROLS, '');
  return out;
}

/** Each line quoted, so the user's words cannot pose as the worker's own lines (a section, a trailer). */
export function quoted(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.length ? `> ${l}` : '>'))
    .join('\n');
}
