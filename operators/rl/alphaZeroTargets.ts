import { ACTION_COUNT, FEATURE_COUNT, encodeState, legalMask, replaySteps, stepToAction } from '../../domains/countdown/actions.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import type { StateExample } from './trainingExamples.js';

/** How visit counts become policy targets. */
export interface AlphaZeroTargetConfig {
  /** Visit temperature τ: target ∝ N(child)^(1/τ). 1 is AlphaZero's; < 1 sharpens. Default 1. */
  readonly visitTemperature?: number;
  /** Expanded nodes with fewer total child visits are skipped (too few visits to be a distribution). Default 2. */
  readonly minVisits?: number;
  /**
   * Train the policy only on states with a verified-correct terminal below them. Where nothing
   * below was solved every Q is 0 and the visits only echo the prior, so those targets teach the
   * network its own noise. Default true. Value targets are kept for every state either way.
   */
  readonly solvedOnly?: boolean;
}

/** What {@link alphaZeroTargets} kept and why it dropped the rest (counted, ASTRO-METHOD §7.8). */
export interface AlphaZeroTargets {
  readonly examples: StateExample[];
  /** Nodes whose steps do not replay in the Countdown action model (e.g. from an LLM policy). */
  readonly unreplayable: number;
  readonly lowVisits: number;
}

/**
 * AlphaZero-style targets from a verified Countdown tree: for every expanded node, the children's
 * visit distribution as the policy target and, for every non-terminal node, whether a
 * verified-correct terminal lies below it as the value target. Invalid trees still teach the
 * value head (everything below is 0) and where visits concentrated.
 */
export function alphaZeroTargets(tree: VerifiedTree, config: AlphaZeroTargetConfig = {}): AlphaZeroTargets {
  const tau = config.visitTemperature ?? 1;
  const minVisits = config.minVisits ?? 2;
  const solvedOnly = config.solvedOnly ?? true;
  const nodes = tree.nodes;
  const children: number[][] = nodes.map(() => []);
  for (const node of nodes) if (node.parent >= 0) children[node.parent]?.push(node.id);
  // Nodes are appended after their parents, so one reverse pass settles "correct below".
  const solved = nodes.map((n) => n.correct === true);
  for (let i = nodes.length - 1; i > 0; i--) {
    const parent = nodes[i]?.parent ?? -1;
    if (parent >= 0 && solved[i]) solved[parent] = true;
  }
  const examples: StateExample[] = [];
  let unreplayable = 0;
  let lowVisits = 0;
  for (const node of nodes) {
    if (node.terminal) continue;
    const path: string[] = [];
    for (let at = node.id; at > 0; at = nodes[at]?.parent ?? 0) path.push(nodes[at]?.step ?? '');
    const state = replaySteps(tree.problem, path.reverse());
    if ('error' in state || state.answered !== null) {
      unreplayable++;
      continue;
    }
    const features = new Float32Array(FEATURE_COUNT);
    const mask = new Float32Array(ACTION_COUNT);
    encodeState(state, features);
    legalMask(state, mask);
    let policyTarget: Float32Array | null = null;
    const kids = children[node.id] ?? [];
    if (kids.length > 0 && (solved[node.id] || !solvedOnly)) {
      const target = new Float32Array(ACTION_COUNT);
      let total = 0;
      let visits = 0;
      for (const c of kids) {
        const child = nodes[c];
        if (child === undefined) continue;
        const action = stepToAction(state, child.step);
        if (typeof action !== 'number' || mask[action] !== 1) continue;
        const w = child.visits ** (1 / tau);
        target[action] = (target[action] ?? 0) + w;
        total += w;
        visits += child.visits;
      }
      if (visits < minVisits || total <= 0) lowVisits++;
      else {
        for (let a = 0; a < ACTION_COUNT; a++) target[a] = (target[a] ?? 0) / total;
        policyTarget = target;
      }
    }
    examples.push({ features, mask, policyTarget, valueTarget: solved[node.id] ? 1 : 0 });
  }
  return { examples, unreplayable, lowVisits };
}
