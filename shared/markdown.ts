// Text from outside (an agent's error, git's words, a title) put into Markdown that GitHub
// or VS Code renders: shown on one line as the words it is, never as a mention, a link, an
// image, an autolink, HTML or a code span that breaks out of its place. (Bold or italics
// from `*` and `_` are left: they cannot reach anyone or load anything.)

/** What starts a link or an image (`[`, `]`, `!`), a code span (a backtick), or escapes them. */
const SPECIAL = /[\\`[\]!]/g;

export function escapeMarkdownInline(text: string): string {
  return (
    text
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
      .replace(SPECIAL, (c) => `\\${c}`)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      // A zero-width space keeps a mention from notifying anyone and a URL from becoming a link.
      .replace(/@(?=[A-Za-z0-9])/g, '@\u200b')
      .replace(/:\/\//g, ':\u200b//')
      .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200b.`)
      .trim()
  );
}
