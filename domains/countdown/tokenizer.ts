import type { TokenCounter } from '../../operators/linearize/tokenCount.js';

// The pre-tokenization pattern of Llama-3's tokenizer (contractions, words with one leading
// non-letter, 1–3 digit groups, punctuation runs, newlines, spaces).
const PIECE = /'(?:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/giu;

/** The text split into the Countdown tokenizer's tokens (they concatenate back to the text). */
export function countdownTokens(text: string): string[] {
  return text.match(PIECE) ?? [];
}

/**
 * The built-in Countdown domain's tokenizer: Llama-3's pre-tokenization pieces, one token each.
 * Countdown text is small numbers, common words and short punctuation runs, which a Llama-3 style
 * vocabulary holds whole, so the count is close to such a model's (never above it: BPE only
 * splits pieces further). `serve-policy` counts usage and answers `/tokenize` with it.
 */
export const countdownTokenizer: TokenCounter = {
  name: 'countdown-pretokens@1',
  exact: true,
  count: (text) => countdownTokens(text).length,
};
