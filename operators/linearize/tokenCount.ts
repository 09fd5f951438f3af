/**
 * Counts the tokens of a text with some tokenizer: the policy server's (`/tokenize`), a domain's
 * own, or an estimate. The linearizer caps traces with it (`maxTraceTokens`).
 */
export interface TokenCounter {
  /** What counts, recorded with the counts: e.g. `llama.cpp /tokenize at http://…`, `countdown-pretokens@1`, `estimate: 4 characters per token`. */
  readonly name: string;
  /** False when the count is an estimate, not a tokenizer's. */
  readonly exact: boolean;
  count(text: string): number | Promise<number>;
}

/** About four characters per token: what a text is assumed to cost when no tokenizer is at hand. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** {@link estimateTokens} as a counter, marked as an estimate. */
export const ESTIMATED_TOKENS: TokenCounter = { name: 'estimate: 4 characters per token', exact: false, count: estimateTokens };

/**
 * True when `text` cannot be longer than `maxTokens` whatever the tokenizer: every token of a
 * byte-level tokenizer (BPE, SentencePiece with byte fallback, a pre-tokenizer) covers at least
 * one UTF-8 byte, so a text of at most `maxTokens` bytes fits. Lets the cap skip tokenizing
 * almost every trace (a Countdown trace is 1–2 KB against the default 8192).
 */
export function surelyWithin(text: string, maxTokens: number): boolean {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: a cheap bound before measuring exactly.
  if (text.length * 3 <= maxTokens) return true;
  if (text.length > maxTokens) return false;
  return Buffer.byteLength(text, 'utf8') <= maxTokens;
}
