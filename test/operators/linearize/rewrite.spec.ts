import { describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { defaultLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import {
  backtrackParagraph,
  countBacktracks,
  countReflections,
  finalAnswerLine,
  linearizeTree,
  POSITIVE_REFLECTION,
  rewriteCompletion,
  stepRewritePrompt,
  type TextRewriter,
} from '../../../operators/linearize/index.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import { buildTree, testDomain, testVerifier, type NodeSpec } from '../../helpers/treeArbitraries.js';

const completion = [
  'Step 1: 75 - 25 = 50.',
  'So \\boxed{4}.',
  backtrackParagraph('computed 75 - 25 = 50'),
  'Step 2: 50 * 2 = 100.',
  'So \\boxed{100}.',
  POSITIVE_REFLECTION,
  finalAnswerLine('100'),
].join('\n\n');

/** A rewriter answering from a function of the prompt's last "Step:"/"Description:" line. */
function rewriter(fn: (line: string, prompt: string) => string): TextRewriter & { prompts: string[] } {
  const prompts: string[] = [];
  return {
    prompts,
    complete: async (prompt) => {
      prompts.push(prompt);
      const line = prompt.split('\n').filter((l) => l.startsWith('Step: ') || l.startsWith('Description: ')).at(-1) ?? '';
      return fn(line.replace(/^(Step|Description): /, ''), prompt);
    },
  };
}

const config = { steps: true, backtracks: true, seed: 1 };

describe('LLM rewriting (ASTRO-METHOD §4)', () => {
  it('rewrites forward steps and the go-back clause; reflection sentences and the final line stay exact', async () => {
    const r = rewriter((line) => (line.startsWith('computed') ? 'took 25 away from 75 to get 50' : `Rewritten: Now, ${line}`));
    const metrics = new InMemoryMetrics();
    const out = await rewriteCompletion(completion, 'Make 100.', config, { rewriter: r, metrics });
    const paragraphs = out.split('\n\n');
    expect(paragraphs[0]).toBe('Now, Step 1: 75 - 25 = 50.');
    expect(paragraphs[2]).toBe(backtrackParagraph('took 25 away from 75 to get 50'));
    expect(paragraphs[5]).toBe(POSITIVE_REFLECTION);
    expect(paragraphs[6]).toBe(finalAnswerLine('100'));
    expect(countBacktracks(out)).toBe(countBacktracks(completion));
    expect(countReflections(out)).toBe(countReflections(completion));
    expect(metrics.counter('linearize.rewrite_accepted')).toBe(5);
    // Each step prompt carries the (rewritten) steps before it as context.
    expect(r.prompts.at(-1)).toContain('Previous steps: Now, Step 1: 75 - 25 = 50. Now, So \\boxed{4}.');
  });

  it('keeps the original when a rewrite changes a number or the boxed answer, adds a blank line, or invents numbers in a clause', async () => {
    const bad = rewriter((line) => (line.startsWith('computed') ? 'went back to 99' : line.includes('boxed{4}') ? 'So \\boxed{5}.' : line.includes('50 * 2') ? 'Step 2: 50 * 3 = 100.' : `${line}\n\nextra`));
    const metrics = new InMemoryMetrics();
    expect(await rewriteCompletion(completion, 'Make 100.', config, { rewriter: bad, metrics })).toBe(completion);
    expect(metrics.counter('linearize.rewrite_rejected')).toBe(5);
    expect(metrics.counter('linearize.rewrite_accepted')).toBe(0);
  });

  it('does only what is switched on', async () => {
    const r = rewriter((line) => `Then ${line}`);
    const stepsOnly = await rewriteCompletion(completion, 'q', { ...config, backtracks: false }, { rewriter: r });
    expect(stepsOnly.split('\n\n')[2]).toBe(backtrackParagraph('computed 75 - 25 = 50'));
    const none = await rewriteCompletion(completion, 'q', { ...config, steps: false, backtracks: false }, { rewriter: r });
    expect(none).toBe(completion);
  });

  it('few-shot step prompt states the rule and ends where the model continues', () => {
    const prompt = stepRewritePrompt('Q', [], 'Step 1: x');
    expect(prompt).toMatch(/Keep every number/);
    expect(prompt.endsWith('Step: Step 1: x\nRewritten:')).toBe(true);
  });

  it('in linearizeTree every rewritten trace is re-verified: a rewriter that breaks the final answer loses the trace', async () => {
    const spec: NodeSpec[] = [{ step: 'Step A.', r: 1, children: [{ step: 'So \\boxed{3}.' }] }, { step: 'Step D.', r: 0.2, children: [{ step: 'So \\boxed{4}.' }] }];
    const tree = await labelTree(buildTree(spec), testVerifier);
    const cfg = { ...defaultLinearizeConfig, kMix: [0, 1], seed: 3 };
    const good = await linearizeTree(tree, cfg, { domain: testDomain, verifier: testVerifier, rewrite: { config, rewriter: rewriter((line) => `Indeed, ${line}`) } });
    expect(good).toHaveLength(2);
    expect(good.every((t) => t.completion.includes('Indeed, Step A.'))).toBe(true);
    expect(good.every((t) => t.messages[1]?.content === t.completion)).toBe(true);
    // A verifier that rejects anything rewritten shows the re-verification is on the rewritten text.
    const strict = { ...testVerifier, verify: async (p: Parameters<typeof testVerifier.verify>[0], text: string) => (text.includes('Indeed') ? { correct: false, extracted: null } : testVerifier.verify(p, text)) };
    const metrics = new InMemoryMetrics();
    const lost = await linearizeTree(tree, cfg, { domain: testDomain, verifier: strict, metrics, rewrite: { config, rewriter: rewriter((line) => `Indeed, ${line}`) } });
    expect(lost).toEqual([]);
    expect(metrics.counter('linearize.reverify_failed')).toBe(2);
  });
});
