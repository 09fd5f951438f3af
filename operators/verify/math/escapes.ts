// Commands that begin with `\n`: anything else after a backslash-n is a written-out line break.
const N_COMMANDS = new Set(['ne', 'neq', 'nu', 'nabla', 'neg', 'not', 'notin', 'ni', 'nmid', 'newline', 'nleq', 'ngeq', 'nless', 'ngtr', 'ncong', 'nexists', 'nonumber', 'nsubseteq', 'normalsize', 'natural', 'nleftarrow', 'nrightarrow', 'nRightarrow', 'nparallel', 'nsim']);

/**
 * Undoes the escaping of answers that went through a JSON dump or a Python string once too often:
 * `\\frac{1}{5}` is `\frac{1}{5}`, and a literal `\n` between sentences is a line break. Applied
 * per occurrence, so a text mixing both forms (`\\dfrac{1}{2} + \frac{1}{72}`) reads right. A
 * matrix row break `\\` stays: it is followed by a space, a digit, a single letter or one more
 * backslash, never by a command name.
 */
export function undoubleEscapes(text: string): string {
  if (!text.includes('\\')) return text;
  return text
    .replace(/(?<!\\)\\\\(?=[a-zA-Z]{2}|[{}%$,!;])/g, '\\')
    .replace(/(?<!\\)\\n([a-zA-Z]*)/g, (m: string, letters: string) => (N_COMMANDS.has(`n${letters}`) ? m : `\n${letters}`));
}
