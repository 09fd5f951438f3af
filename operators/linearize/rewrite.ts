import { noopMetrics, type Metrics } from '../common/metrics.js';
import { deriveSeed } from '../common/rng.js';
import { STEP_DELIMITER } from '../mcts/policy.js';
import { lastBoxed } from './lastBoxed.js';
import { FINAL_ANSWER_PREFIX, GO_BACK_PREFIX, POSITIVE_REFLECTION, REFLECTION_OPENING } from './phrases.js';

/** A text model: completes a few-shot prompt with one paragraph. */
export interface TextRewriter {
  complete(prompt: string, seed: number): Promise<string>;
}

/** What to rewrite (ASTRO-METHOD §4); off unless configured. */
export interface RewriteConfig {
  /** Rewrite forward steps so they read as a natural continuation. */
  readonly steps: boolean;
  /** Rewrite the clause of `Let's go back to where we <clause>.` (the counted sentences stay exact). */
  readonly backtracks: boolean;
  readonly seed: number;
}

export interface RewriteDeps {
  readonly rewriter: TextRewriter;
  readonly metrics?: Metrics;
}

/** Few-shot prompt for a forward step: the steps before it as context. */
export function stepRewritePrompt(question: string, previous: readonly string[], step: string): string {
  return [
    'Rewrite the last step of a solution so it reads as a natural continuation of the steps before it.',
    'Keep every number, formula and answer exactly as it is; change only the wording. Answer with the rewritten step only, as one paragraph.',
    '',
    'Example',
    'Previous steps: ## Step 1: 75 - 25 = 50. Remaining: 50, 8, 3.',
    'Step: ## Step 2: 8 * 3 = 24. Remaining: 50, 24.',
    'Rewritten: ## Step 2: Next, multiplying 8 by 3 gives 24, which leaves 50 and 24.',
    '',
    'Example',
    'Previous steps: (none)',
    'Step: ## Step 1: We have that $r = \\sqrt{0^2 + 3^2} = 3.$',
    'Rewritten: ## Step 1: First, the distance from the origin is $r = \\sqrt{0^2 + 3^2} = 3.$',
    '',
    `Problem: ${question}`,
    `Previous steps: ${previous.length === 0 ? '(none)' : previous.join(' ')}`,
    `Step: ${step}`,
    'Rewritten:',
  ].join('\n');
}

/** Few-shot prompt for the clause that says where a backtrack returns to. */
export function backtrackRewritePrompt(question: string, clause: string): string {
  return [
    `Complete the sentence "${GO_BACK_PREFIX}..." with a short, natural clause saying what that step did. Use only numbers that appear in the description. Answer with the clause only.`,
    '',
    'Description: computed 75 - 25 = 50',
    'Clause: subtracted 25 from 75 to get 50',
    '',
    'Description: reached step 2 ("We have that $r = 3$")',
    'Clause: found that $r = 3$',
    '',
    `Problem: ${question}`,
    `Description: ${clause}`,
    'Clause:',
  ].join('\n');
}

const numbersOf = (text: string): string[] => [...text.matchAll(/\d+(?:\.\d+)?/g)].map((m) => m[0]).sort();
const sameNumbers = (a: string, b: string): boolean => numbersOf(a).join(',') === numbersOf(b).join(',');

/**
 * Rewrites a rendered trace paragraph by paragraph with an LLM: forward steps (all numbers and any
 * boxed answer must survive unchanged) and the clause of each go-back sentence (it may only use
 * numbers the original clause had). The reflection sentences, the restart sentence, the `Let's go
 * back to where we` prefix and the final answer line are never touched, so the counted contract
 * holds. A rewrite that breaks a guard, or spans a blank line, is discarded and the original kept
 * (`linearize.rewrite_rejected`); accepted ones count `linearize.rewrite_accepted`. The caller
 * re-verifies the result.
 */
export async function rewriteCompletion(completion: string, question: string, config: RewriteConfig, deps: RewriteDeps): Promise<string> {
  const metrics = deps.metrics ?? noopMetrics;
  const paragraphs = completion.split(STEP_DELIMITER);
  const previous: string[] = [];
  const out: string[] = [];
  for (const [i, paragraph] of paragraphs.entries()) {
    const seed = deriveSeed(config.seed, i, paragraph);
    const isReflection = paragraph.startsWith(REFLECTION_OPENING) || paragraph === POSITIVE_REFLECTION;
    if (isReflection) {
      const at = paragraph.indexOf(GO_BACK_PREFIX);
      if (!config.backtracks || at < 0) {
        out.push(paragraph);
        continue;
      }
      const clause = paragraph.slice(at + GO_BACK_PREFIX.length).replace(/\.$/, '');
      const proposed = clean(await deps.rewriter.complete(backtrackRewritePrompt(question, clause), seed)).replace(/[.\s]+$/, '');
      const okNumbers = numbersOf(proposed).every((n) => numbersOf(clause).includes(n));
      const accepted = proposed.length > 0 && okNumbers && !proposed.includes('\\boxed') && !proposed.includes('\n');
      metrics.increment(accepted ? 'linearize.rewrite_accepted' : 'linearize.rewrite_rejected');
      out.push(accepted ? `${paragraph.slice(0, at + GO_BACK_PREFIX.length)}${proposed}.` : paragraph);
      continue;
    }
    if (!config.steps || paragraph.startsWith(FINAL_ANSWER_PREFIX)) {
      out.push(paragraph);
      continue;
    }
    const proposed = clean(await deps.rewriter.complete(stepRewritePrompt(question, previous, paragraph), seed));
    const accepted =
      proposed.length > 0 && !proposed.includes(STEP_DELIMITER) && sameNumbers(proposed, paragraph) && lastBoxed(proposed) === lastBoxed(paragraph) && !proposed.startsWith(REFLECTION_OPENING);
    metrics.increment(accepted ? 'linearize.rewrite_accepted' : 'linearize.rewrite_rejected');
    const text = accepted ? proposed : paragraph;
    out.push(text);
    previous.push(text);
  }
  return out.join(STEP_DELIMITER);
}

// Models echo the label or wrap the answer in quotes; neither is part of the text.
function clean(text: string): string {
  return text.trim().replace(/^(Rewritten|Clause):\s*/i, '').replace(/^"(.*)"$/s, '$1').trim();
}
