import fc from 'fast-check';
import type { Problem } from '../../schemas/problem.js';
import type { SearchTree, TreeNode } from '../../schemas/searchTree.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import type { Trace } from '../../schemas/trace.js';
import type { RolloutGroup } from '../../schemas/rolloutGroup.js';
import type { PolicyVersion } from '../../schemas/policyVersion.js';
import type { DeadLetter } from '../../schemas/deadLetter.js';

/** Record arbitraries shared by schema, codec and sink tests. Values respect the zod schemas. */

/** Doubles without -0: JSON (the wire codec) has no negative zero, so it cannot round-trip. */
const double = (constraints: fc.DoubleConstraints): fc.Arbitrary<number> => fc.double(constraints).map((x) => (Object.is(x, -0) ? 0 : x));
const text = fc.string({ maxLength: 40 });
const nonEmpty = fc.string({ minLength: 1, maxLength: 24 });
const int32 = fc.integer({ min: -1_000_000, max: 1_000_000 });
const nat = fc.nat({ max: 1_000_000 });
const unit = double({ min: 0, max: 1, noNaN: true, noDefaultInfinity: true });
const epochMs = fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 });

export const arbProblem: fc.Arbitrary<Problem> = fc.record(
  {
    id: nonEmpty,
    domain: nonEmpty,
    source: nonEmpty,
    question: nonEmpty,
    answer: text,
    solution: text,
    numbers: fc.array(int32, { maxLength: 6 }),
    target: int32,
    difficulty: nat,
    meta_json: text,
  },
  { requiredKeys: ['id', 'domain', 'source', 'question', 'answer'] },
);

const arbNode: fc.Arbitrary<TreeNode> = fc.record({
  id: nat,
  parent: fc.integer({ min: -1, max: 1000 }),
  depth: nat,
  step: text,
  prior: unit,
  visits: nat,
  value_sum: double({ min: 0, max: 1000, noNaN: true, noDefaultInfinity: true }),
  rollout_estimate: unit,
  rollouts: nat,
  terminal: fc.boolean(),
  expanded: fc.boolean(),
  answer: fc.option(text, { nil: null }),
  correct: fc.option(fc.boolean(), { nil: null }),
});

export const arbSearchTree: fc.Arbitrary<SearchTree> = fc.record({
  tree_id: nonEmpty,
  problem_id: nonEmpty,
  problem: arbProblem,
  policy_version: nonEmpty,
  search_verifier: nonEmpty,
  seed: fc.nat({ max: 2 ** 32 - 1 }),
  settings: fc.record({
    k: fc.integer({ min: 1, max: 16 }),
    rollouts: fc.nat({ max: 32 }),
    iterations: fc.integer({ min: 1, max: 64 }),
    max_depth: fc.integer({ min: 1, max: 50 }),
    c_puct: double({ min: 0, max: 4, noNaN: true }),
    temperature: double({ min: 0, max: 2, noNaN: true }),
    top_p: double({ min: 0.01, max: 1, noNaN: true }),
    backup: fc.constantFrom('paper' as const, 'legacy' as const),
    exhausted: fc.constantFrom('skip' as const, 'revisit' as const),
  }, { requiredKeys: ['k', 'rollouts', 'iterations', 'max_depth', 'c_puct', 'temperature', 'top_p'] }),
  nodes: fc.array(arbNode, { minLength: 1, maxLength: 8 }),
  stats: fc.record({
    iterations: nat,
    step_samples: nat,
    rollouts: nat,
    policy_calls: nat,
    prompt_tokens: nat,
    completion_tokens: nat,
    duration_ms: double({ min: 0, max: 1e7, noNaN: true }),
  }),
  created_at: epochMs,
});

export const arbVerifiedTree: fc.Arbitrary<VerifiedTree> = fc
  .tuple(arbSearchTree, nonEmpty, nonEmpty, fc.boolean(), nat, nat, nat)
  .map(([tree, verifier, hash, valid, correct, incorrect, relabelled]) => ({
    ...tree,
    verifier,
    verifier_config_hash: hash,
    valid,
    num_correct_terminals: correct,
    num_incorrect_terminals: incorrect,
    relabelled,
  }));

export const arbTrace: fc.Arbitrary<Trace> = fc.record({
  trace_id: nonEmpty,
  tree_id: nonEmpty,
  problem_id: nonEmpty,
  domain: nonEmpty,
  source: nonEmpty,
  problem_json: text,
  prompt: text,
  completion: text,
  messages: fc.array(fc.record({ role: fc.constantFrom('system' as const, 'user' as const, 'assistant' as const), content: text }), { maxLength: 3 }),
  answer: text,
  correct: fc.boolean(),
  variant: fc.constantFrom('direct' as const, 'search' as const, 'direct_ablation' as const),
  k: fc.nat({ max: 4 }),
  num_backtracks: fc.nat({ max: 10 }),
  num_reflections: fc.nat({ max: 10 }),
  node_path: fc.array(fc.nat({ max: 500 }), { maxLength: 12 }),
  policy_version: text,
  linearizer: text,
  linearizer_config_hash: text,
  verifier: text,
  created_at: epochMs,
});

export const arbRolloutGroup: fc.Arbitrary<RolloutGroup> = fc.record({
  group_id: nonEmpty,
  problem_id: nonEmpty,
  domain: text,
  prompt: text,
  ground_truth: text,
  policy_version: text,
  verifier: text,
  samples: fc.array(
    fc.record(
      {
        completion: text,
        answer: fc.option(text, { nil: null }),
        correct: fc.boolean(),
        truncated: fc.boolean(),
        reward: fc.constantFrom(-1, 1),
        logprob: fc.option(double({ min: -100, max: 0, noNaN: true }), { nil: null }),
        actions: fc.array(fc.nat({ max: 149 }), { maxLength: 8 }),
      },
      { requiredKeys: ['completion', 'answer', 'correct', 'truncated', 'reward', 'logprob'] },
    ),
    { minLength: 1, maxLength: 4 },
  ),
  created_at: epochMs,
});

export const arbPolicyVersion: fc.Arbitrary<PolicyVersion> = fc.record({
  policy: nonEmpty,
  version: fc.nat({ max: 10_000 }),
  path: nonEmpty,
  sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
  step: nat,
  metrics: fc.array(fc.record({ name: nonEmpty, value: double({ min: -1e6, max: 1e6, noNaN: true }) }), { maxLength: 4 }),
  created_at: epochMs,
});

export const arbDeadLetter: fc.Arbitrary<DeadLetter> = fc.record({
  source_topic: nonEmpty,
  source_partition: fc.nat({ max: 64 }),
  source_offset: fc.nat(),
  key: fc.option(text, { nil: null }),
  value_base64: fc.base64String(),
  value_bytes: fc.nat(),
  value_truncated: fc.boolean(),
  stage: nonEmpty,
  error_kind: nonEmpty,
  retriable: fc.boolean(),
  reason: text,
  failed_at: epochMs,
}, { requiredKeys: ['source_topic', 'source_partition', 'source_offset', 'key', 'value_base64', 'stage', 'error_kind', 'retriable', 'reason', 'failed_at'] });
