import fc from 'fast-check';
import type { Domain } from '../../domains/domain.js';
import type { Verifier, Verdict } from '../../operators/verify/verifier.js';
import type { Problem } from '../../schemas/problem.js';
import type { SearchTree, TreeNode } from '../../schemas/searchTree.js';

/** Last `\boxed{…}` content (no nesting needed for test answers). */
function lastBox(text: string): string | null {
  const m = [...text.matchAll(/\\boxed\{([^{}]*)\}/gu)];
  return m.length === 0 ? null : (m[m.length - 1]?.[1] ?? null);
}

/** A tiny verifier: correct iff the last `\boxed{n}` (trimmed, spaces removed) equals problem.answer. */
export const testVerifier: Verifier = {
  name: 'test-boxed',
  version: '1.0.0',
  configHash: 'test-config',
  async verify(problem: Problem, response: string): Promise<Verdict> {
    const extracted = lastBox(response);
    if (extracted === null) return { correct: false, extracted: null, reason: 'no boxed answer' };
    const normalized = extracted.replace(/\s+/gu, '');
    return { correct: normalized === problem.answer, extracted, normalized };
  },
};

/** A tiny domain for the linearizer: steps describe themselves. */
export const testDomain: Pick<Domain, 'prompt' | 'describeStep'> = {
  prompt: (p: Problem) => `Solve: ${p.question}`,
  describeStep: (step: string) => `reached ${step.replace(/\.$/u, '').toLowerCase()}`,
};

export function makeProblem(answer = '3'): Problem {
  return { id: 'p1', domain: 'test', source: 'unit', question: 'What is 1 + 2?', answer };
}

/** A hand-written tree node: a step, its own estimate R and its children. */
export interface NodeSpec {
  readonly step: string;
  /** R(s); defaults to 1/0 for a terminal by its search verdict, 0.5 otherwise. */
  readonly r?: number;
  /** Search-time verdict recorded in the tree (terminals only); defaults to the true one for gold '3'. */
  readonly recorded?: boolean | null;
  readonly children?: readonly NodeSpec[];
}

/**
 * Builds a consistent SearchTree from nested specs (root = the problem): ids in depth-first
 * preorder, visits = 1 + Σ children visits, value_sum = R + Σ children value_sum.
 */
export function buildTree(children: readonly NodeSpec[], options: { problem?: Problem; treeId?: string; createdAt?: number } = {}): SearchTree {
  const problem = options.problem ?? makeProblem();
  const nodes: TreeNode[] = [];
  const visit = (spec: NodeSpec, parent: number, depth: number, siblings: number): number => {
    const id = nodes.length;
    const terminal = spec.step.includes('\\boxed{');
    const boxed = terminal ? lastBox(spec.step) : null;
    const truth = boxed !== null && boxed.replace(/\s+/gu, '') === problem.answer;
    const recorded = terminal ? (spec.recorded === undefined ? truth : spec.recorded) : null;
    const r = spec.r ?? (terminal ? (recorded === true ? 1 : 0) : 0.5);
    const node: TreeNode = {
      id, parent, depth, step: spec.step, prior: 1 / siblings, visits: 1, value_sum: r, rollout_estimate: r,
      rollouts: terminal || parent === -1 ? 0 : 16, terminal, expanded: (spec.children?.length ?? 0) > 0, answer: boxed, correct: recorded,
    };
    nodes.push(node);
    for (const child of spec.children ?? []) {
      const childId = visit(child, id, depth + 1, spec.children?.length ?? 1);
      const c = nodes[childId] as TreeNode;
      node.visits += c.visits;
      node.value_sum += c.value_sum;
    }
    return id;
  };
  visit({ step: '', r: 0, children }, -1, 0, 1);
  return {
    tree_id: options.treeId ?? 'tree_test', problem_id: problem.id, problem, policy_version: 'test-policy@1', search_verifier: 'test-boxed@1.0.0',
    seed: 1, settings: { k: 8, rollouts: 16, iterations: 32, max_depth: 50, c_puct: 1, temperature: 1, top_p: 0.95 }, nodes,
    stats: { iterations: 1, step_samples: 1, rollouts: 0, policy_calls: 1, prompt_tokens: 0, completion_tokens: 0, duration_ms: 1 }, created_at: 1_700_000_000_000,
  };
}

/** One generated node: where it hangs and what it says. */
interface GenNode {
  readonly parentPick: number;
  readonly terminal: boolean;
  readonly answer: number;
  readonly spaced: boolean;
  readonly flip: boolean;
  readonly r: number;
}

/**
 * Random consistent search trees for gold answer '3': terminal steps `… \boxed{a}` with a in
 * 0..5 (so wrong answers repeat, sometimes written with spaces: `\boxed{ 4}`), terminals are
 * leaves, node invariants hold, and `flip` sometimes records a wrong search-time verdict (to be
 * relabelled). Ids are parents-before-children, like the search appends them.
 */
export function arbSearchTree(options: { maxNodes?: number; withCorrect?: boolean } = {}): fc.Arbitrary<SearchTree> {
  const gen = fc.record({
    parentPick: fc.nat(),
    terminal: fc.boolean(),
    answer: fc.integer({ min: 0, max: 5 }),
    spaced: fc.boolean(),
    flip: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    r: fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
  });
  return fc
    .tuple(fc.array(gen, { minLength: 1, maxLength: options.maxNodes ?? 24 }), fc.integer({ min: 0, max: 1_000_000 }), fc.nat({ max: 1000 }))
    .map(([gens, seed, treeNo]) => fromGen(options.withCorrect === true ? ensureCorrect(gens) : gens, seed, `tree_${treeNo}`));
}

function ensureCorrect(gens: GenNode[]): GenNode[] {
  return [...gens, { parentPick: 0, terminal: true, answer: 3, spaced: false, flip: false, r: 1 }];
}

function fromGen(gens: readonly GenNode[], seed: number, treeId: string): SearchTree {
  const problem = makeProblem('3');
  const nodes: TreeNode[] = [
    { id: 0, parent: -1, depth: 0, step: '', prior: 1, visits: 1, value_sum: 0, rollout_estimate: 0, rollouts: 0, terminal: false, expanded: false, answer: null, correct: null },
  ];
  const open: number[] = [0];
  gens.forEach((g) => {
    const id = nodes.length;
    const parent = open[g.parentPick % open.length] as number;
    const p = nodes[parent] as TreeNode;
    p.expanded = true;
    const text = g.spaced ? ` ${g.answer}` : `${g.answer}`;
    const truth = g.answer === 3;
    const recorded = g.flip ? !truth : truth;
    nodes.push({
      id, parent, depth: p.depth + 1,
      step: g.terminal ? `So the result is \\boxed{${text}}.` : `Step ${id}: work on part ${g.answer}.`,
      prior: 0.5, visits: 1, value_sum: 0, rollout_estimate: g.terminal ? (recorded ? 1 : 0) : g.r, rollouts: g.terminal ? 0 : 16,
      terminal: g.terminal, expanded: false, answer: g.terminal ? text : null, correct: g.terminal ? recorded : null,
    });
    if (!g.terminal) open.push(id);
  });
  // Children have larger ids, so one reverse pass completes every subtree before its parent.
  for (let i = nodes.length - 1; i >= 0; i -= 1) {
    const n = nodes[i] as TreeNode;
    n.value_sum += n.rollout_estimate;
    if (n.parent >= 0) {
      const p = nodes[n.parent] as TreeNode;
      p.visits += n.visits;
      p.value_sum += n.value_sum;
    }
  }
  return {
    tree_id: treeId, problem_id: problem.id, problem, policy_version: 'test-policy@1', search_verifier: 'test-boxed@1.0.0', seed,
    settings: { k: 8, rollouts: 16, iterations: 32, max_depth: 50, c_puct: 1, temperature: 1, top_p: 0.95 }, nodes,
    stats: { iterations: gens.length, step_samples: gens.length, rollouts: 0, policy_calls: 1, prompt_tokens: 0, completion_tokens: 0, duration_ms: 1 },
    created_at: 1_700_000_000_000 + seed,
  };
}

/**
 * What is wrong with a trace as a walk of its tree (empty when nothing): it starts at the root,
 * ends at a correct terminal, every move is to a child or — only right after a wrong terminal —
 * back up to an ancestor of it, backtracks equal `num_backtracks`, and the text is the forward
 * steps in order (reflection paragraphs aside) followed by the final-answer line.
 */
export function traceWalkViolations(
  tree: Pick<SearchTree, 'nodes'>,
  trace: { readonly node_path: readonly number[]; readonly completion: string; readonly answer: string; readonly num_backtracks: number },
): string[] {
  const bad: string[] = [];
  const node = (id: number | undefined): TreeNode | undefined => (id === undefined ? undefined : tree.nodes[id]);
  const isWrong = (id: number | undefined): boolean => node(id)?.terminal === true && node(id)?.correct === false;
  const ancestors = (id: number): number[] => {
    const out: number[] = [];
    for (let at = node(id)?.parent ?? -1; at !== -1; at = node(at)?.parent ?? -1) out.push(at);
    return out;
  };
  const path = trace.node_path;
  if (path[0] !== 0) bad.push('does not start at the root');
  const last = node(path[path.length - 1]);
  if (last?.terminal !== true || last.correct !== true) bad.push('does not end at a correct terminal');
  let backtracks = 0;
  const forward: string[] = [];
  for (let i = 1; i < path.length; i += 1) {
    const prev = path[i - 1] as number;
    const next = path[i] as number;
    if (node(next)?.parent === prev) {
      forward.push(node(next)?.step ?? '');
      continue;
    }
    backtracks += 1;
    if (!isWrong(prev)) bad.push(`move ${prev}→${next} is neither forward nor after a wrong terminal`);
    if (!ancestors(prev).includes(next)) bad.push(`backtrack ${prev}→${next} is not to an ancestor`);
  }
  path.forEach((id, i) => {
    if (isWrong(id) && node(path[i + 1])?.parent === id) bad.push(`wrong terminal ${id} is continued`);
  });
  if (backtracks !== trace.num_backtracks) bad.push(`path has ${backtracks} backtracks, num_backtracks ${trace.num_backtracks}`);
  const paragraphs = trace.completion.split('\n\n');
  if (paragraphs.at(-1) !== `Therefore, the final answer is \\boxed{${trace.answer}}.`) bad.push('does not end with the final-answer line');
  const written = paragraphs.filter((p) => !p.startsWith('But wait,')).slice(0, -1);
  if (JSON.stringify(written) !== JSON.stringify(forward)) bad.push('text steps differ from the forward moves of the path');
  return bad;
}
