/** One `\boxed{...}` / `\fbox{...}` of a text: [start, end) of the command and of its content. */
export interface Box {
  readonly start: number;
  readonly end: number;
  readonly content: string;
}

/**
 * Every outermost `\boxed{...}`/`\fbox{...}` (nested braces allowed; also `\boxed 5`), in order.
 * A last box left open (`\boxed{1, 2` at the end of a cut-off answer) runs to the end of the
 * text. One forward pass with a brace stack, so thousands of unbalanced boxes cost linear time.
 */
export function findBoxes(text: string): Box[] {
  // For each open `{`: the index where a box's command starts, or -1 for a plain group.
  const stack: { box: number; content: number }[] = [];
  const boxes: Box[] = [];
  // Boxes currently open: a box inside another box is part of its content.
  let openBoxes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \\ */) {
      const m = /^\\(?:boxed|fbox)(?![a-zA-Z]) *(\{)?/.exec(text.slice(i, i + 16));
      if (m === null) {
        i++; // an escaped character: `\{` does not open a group
        continue;
      }
      if (m[1] === '{') {
        stack.push({ box: i, content: i + m[0].length });
        openBoxes++;
        i += m[0].length - 1;
      } else if (stack.length === 0) {
        // `\boxed 5`: one token.
        const token = /^[^\s${}]+/.exec(text.slice(i + m[0].length, i + m[0].length + 200));
        if (token !== null) boxes.push({ start: i, end: i + m[0].length + token[0].length, content: token[0] });
      }
      continue;
    }
    if (c === 123 /* { */) stack.push({ box: -1, content: -1 });
    else if (c === 125 /* } */) {
      const open = stack.pop();
      if (open !== undefined && open.box >= 0 && --openBoxes === 0) boxes.push({ start: open.box, end: i + 1, content: text.slice(open.content, i).trim() });
    }
  }
  const unclosed = stack.find((s) => s.box >= 0);
  const lastEnd = boxes[boxes.length - 1]?.end ?? -1;
  if (unclosed !== undefined && unclosed.box > lastEnd) boxes.push({ start: unclosed.box, end: text.length, content: text.slice(unclosed.content).trim() });
  return boxes;
}

// Words that revise an earlier box ("\boxed{A}, but then I realized it is \boxed{B}").
const REVISION = /\b(?:but|wait|no|not|actually|instead|however|rather|oops|mistake|wrong|incorrect|correct\w*|realiz\w*|recheck\w*|re-?evaluat\w*|double-?check\w*)\b/i;
const SEPARATOR = /\b(?:and|or)\b|[,;]/;

/**
 * The final answer of a text's boxes: the last box, joined with the boxes just before it when
 * they read as one answer (`\boxed{1}, \boxed{2}`, `\boxed{(2,2)} \quad\text{and}\quad
 * \boxed{(6,2)}`): close together or separated by `,`/`;`/and/or within a line, and not revised
 * by the words between them. Identical neighbouring boxes count once. Null when there is no box.
 */
export function joinBoxes(text: string, boxes: readonly Box[]): string | null {
  const last = boxes[boxes.length - 1];
  if (last === undefined) return null;
  const parts = [last.content];
  for (let k = boxes.length - 2; k >= 0; k--) {
    const prev = boxes[k] as Box;
    const between = text.slice(prev.end, (boxes[k + 1] as Box).start);
    // A few connecting words at most (`\text{ for part (a) and }`); a sentence between is reasoning.
    const words = between.replace(/\\[a-zA-Z]+/g, ' ').match(/[a-zA-Z]{2,}/g)?.length ?? 0;
    const together = between.length < 10 || (between.length < 70 && SEPARATOR.test(between) && words <= 5 && !between.includes('\n\n'));
    if (!together || REVISION.test(between)) break;
    if (prev.content !== parts[0]) parts.unshift(prev.content);
  }
  return parts.join(',');
}
