import { z } from 'zod';

/**
 * What servers return, in the two log-probability layouts met in practice, normalized to one shape.
 * Legacy completions (vLLM, SGLang, OpenAI): `logprobs: {tokens, token_logprobs}`. Chat
 * completions everywhere, and llama.cpp's `llama-server` on both endpoints:
 * `logprobs: {content: [{token, logprob, …}]}`. The rest of the client reads only the
 * normalized {@link CompletionChoice}.
 */
const WireLogprobs = z
  .object({
    tokens: z.array(z.string()).nullable().optional(),
    token_logprobs: z.array(z.number().nullable()).nullable().optional(),
    content: z.array(z.object({ token: z.string(), logprob: z.number().nullable() })).nullable().optional(),
  })
  .nullable()
  .optional();

const WireChoice = z.object({
  index: z.number().int().nonnegative().optional(),
  /** `/v1/completions`. */
  text: z.string().optional(),
  /** `/v1/chat/completions`; `content` is null when a reasoning model only thought. */
  message: z.object({ content: z.string().nullable().optional() }).optional(),
  finish_reason: z.string().nullable().optional(),
  logprobs: WireLogprobs,
});

const WireResponse = z.object({
  id: z.string().optional(),
  model: z.string().optional(),
  choices: z.array(WireChoice),
  usage: z
    .object({ prompt_tokens: z.number().nonnegative(), completion_tokens: z.number().nonnegative() })
    .partial()
    .nullable()
    .optional(),
});

/** Sampled tokens and their log-probabilities (legacy layout; `token_logprobs[i]` is the log-probability of `tokens[i]`). */
export interface ChoiceLogprobs {
  readonly tokens?: readonly string[];
  readonly token_logprobs?: readonly (number | null)[];
}

/** One sampled continuation, whichever endpoint and layout it came from. */
export interface CompletionChoice {
  readonly index?: number;
  readonly text: string;
  readonly finish_reason?: string | null;
  readonly logprobs?: ChoiceLogprobs | null;
}

/** A completions or chat completions response, normalized. */
export interface CompletionResponse {
  readonly id?: string;
  readonly model?: string;
  readonly choices: readonly CompletionChoice[];
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number } | null;
}

/**
 * Parses a response body of either endpoint into a {@link CompletionResponse}; `error` names
 * the offending fields when the body has the wrong shape.
 */
export function parseCompletionResponse(json: unknown): { ok: true; value: CompletionResponse } | { ok: false; error: string } {
  const parsed = WireResponse.safeParse(json);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const { choices, ...rest } = parsed.data;
  const normalized: CompletionChoice[] = [];
  for (const [position, c] of choices.entries()) {
    const text = c.text ?? c.message?.content ?? null;
    if (text === null) {
      if (c.message === undefined) return { ok: false, error: `choices.${position}: neither text nor message` };
    }
    const logprobs = normalizeLogprobs(c.logprobs);
    normalized.push({
      ...(c.index === undefined ? {} : { index: c.index }),
      text: text ?? '',
      finish_reason: c.finish_reason ?? null,
      ...(logprobs === undefined ? {} : { logprobs }),
    });
  }
  return { ok: true, value: { ...rest, choices: normalized } };
}

function normalizeLogprobs(raw: z.infer<typeof WireLogprobs>): ChoiceLogprobs | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (raw.content !== null && raw.content !== undefined) {
    return { tokens: raw.content.map((t) => t.token), token_logprobs: raw.content.map((t) => t.logprob) };
  }
  if (raw.token_logprobs === null || raw.token_logprobs === undefined) return undefined;
  return { ...(raw.tokens === null || raw.tokens === undefined ? {} : { tokens: raw.tokens }), token_logprobs: raw.token_logprobs };
}

/**
 * Completion tokens of a response counted from its sampled tokens: the sum over choices of their
 * log-probability entries, or undefined unless every choice carries them. A lower bound where the
 * server leaves stop-string tokens out of the list (llama.cpp does).
 */
export function countedCompletionTokens(response: CompletionResponse): number | undefined {
  let total = 0;
  for (const choice of response.choices) {
    const values = choice.logprobs?.token_logprobs;
    if (values === undefined) return undefined;
    total += values.length;
  }
  return total;
}
