import { describe, expect, it } from 'vitest';
import {
  POSITIVE_REFLECTION, REFLECTION_CONFIRM, REFLECTION_DOUBT, REFLECTION_OPENING, RESTART_SENTENCE,
  backtrackParagraph, countBacktracks, countPositiveReflections, countReflections, countRestarts, finalAnswerLine, goBackSentence,
} from '../../../operators/linearize/phrases.js';
import { lastBoxed, normalizeAnswer } from '../../../operators/linearize/lastBoxed.js';

describe('phrases', () => {
  it('are exactly the strings of ASTRO-METHOD §4', () => {
    expect(REFLECTION_OPENING).toBe('But wait, are we solving the problem correctly so far? Hmm...');
    expect(REFLECTION_DOUBT).toBe("I'm not sure if we're solving the problem correctly so far.");
    expect(REFLECTION_CONFIRM).toBe('Our solution seems to be correct so far.');
    expect(RESTART_SENTENCE).toBe("Let's restart our solution from the beginning.");
    expect(goBackSentence('computed 75 - 25 = 50')).toBe("Let's go back to where we computed 75 - 25 = 50.");
    expect(goBackSentence('computed 75 - 25 = 50.')).toBe("Let's go back to where we computed 75 - 25 = 50.");
    expect(finalAnswerLine('42')).toBe('Therefore, the final answer is \\boxed{42}.');
  });

  it('builds backtracks and positive reflections in the method order', () => {
    expect(backtrackParagraph(null)).toBe(
      "But wait, are we solving the problem correctly so far? Hmm... I'm not sure if we're solving the problem correctly so far. Let's restart our solution from the beginning.",
    );
    expect(backtrackParagraph('added 2')).toBe(
      "But wait, are we solving the problem correctly so far? Hmm... I'm not sure if we're solving the problem correctly so far. Let's go back to where we added 2.",
    );
    expect(POSITIVE_REFLECTION).toBe('But wait, are we solving the problem correctly so far? Hmm... Our solution seems to be correct so far.');
  });

  it('counts backtracks, restarts and reflections', () => {
    const text = ['x', backtrackParagraph(null), 'y', backtrackParagraph('did y'), 'z', POSITIVE_REFLECTION, finalAnswerLine('1')].join('\n\n');
    expect(countBacktracks(text)).toBe(2);
    expect(countRestarts(text)).toBe(1);
    expect(countReflections(text)).toBe(3);
    expect(countPositiveReflections(text)).toBe(1);
    expect(countBacktracks('no reflection here')).toBe(0);
  });

  it('extracts the last boxed answer with nested braces', () => {
    expect(lastBoxed('a \\boxed{1} b \\boxed{\\frac{1}{2}} c')).toBe('\\frac{1}{2}');
    expect(lastBoxed('none')).toBeNull();
    expect(lastBoxed('\\boxed{1} \\boxed{2')).toBeNull();
    expect(normalizeAnswer(' 1 2\t')).toBe('12');
  });
});
