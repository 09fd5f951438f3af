import type { Metrics } from '../common/metrics.js';
import { createRng, deriveSeed, type Rng } from '../common/rng.js';
import type { TraceVariant } from '../../schemas/trace.js';
import type { TreeNode } from '../../schemas/searchTree.js';
import { chooseTarget, chooseWrongTerminals } from './chooseTerminals.js';
import type { LinearizeConfig } from './linearizeConfig.js';
import { nodeSequence, type NodeSequence } from './nodeSequence.js';
import type { TreeIndex } from './treeIndex.js';

/** One trace about to be rendered. */
export interface Plan {
  readonly variant: TraceVariant;
  /** Position in the tree's output (part of the trace id). */
  readonly variantIndex: number;
  readonly sequence: NodeSequence;
}

/** Draws per `kMix` entry before giving up on finding a node path not already used. */
export const MAX_DRAWS = 32;

const keyOf = (sequence: NodeSequence): string => sequence.path.join(',');

/** A uniform pick among the correct terminals whose direct path is not used yet; undefined when none is left. */
function freshTarget(targets: readonly TreeNode[], index: TreeIndex, used: ReadonlySet<string>, rng: Rng): NodeSequence | undefined {
  const fresh = targets.map((t) => nodeSequence(index, t.id, [])).filter((s) => !used.has(keyOf(s)));
  return fresh.length === 0 ? undefined : fresh[rng.int(fresh.length)];
}

/**
 * The node sequences for one `kMix` (ASTRO-METHOD §3.3–3.5) with pairwise different node paths,
 * so no two traces of a tree repeat each other. Entry i draws from `deriveSeed(seed, tree_id, i)`:
 * k = 0 a direct path to an n* not used yet; k ≥ 1 n* and k wrong terminals with different
 * answers, drawn again (seeds `(seed, tree_id, i, draw)`) while the path repeats an earlier
 * trace's, up to {@link MAX_DRAWS} draws. A tree with fewer distinct paths gives fewer traces.
 *
 * Counted: `linearize.search_skipped_no_wrong` (no wrong terminal), `linearize.k_reduced` (fewer
 * distinct wrong answers than k), `linearize.repeat_skipped` (no new node path left).
 */
export function planMix(index: TreeIndex, targets: readonly TreeNode[], incorrect: readonly TreeNode[], config: LinearizeConfig, treeId: string, metrics: Metrics): Plan[] {
  const used = new Set<string>();
  const plans: Plan[] = [];
  for (const [variantIndex, k] of config.kMix.entries()) {
    if (targets.length === 0) break;
    let found: NodeSequence | undefined;
    if (k === 0) {
      found = freshTarget(targets, index, used, createRng(deriveSeed(config.seed, treeId, variantIndex)));
    } else {
      if (incorrect.length === 0) {
        metrics.increment('linearize.search_skipped_no_wrong');
        continue;
      }
      for (let draw = 0; draw < MAX_DRAWS && found === undefined; draw += 1) {
        const rng = createRng(draw === 0 ? deriveSeed(config.seed, treeId, variantIndex) : deriveSeed(config.seed, treeId, variantIndex, draw));
        const target = chooseTarget(targets, rng) as TreeNode;
        const wrong = chooseWrongTerminals(incorrect, k, rng);
        const sequence = nodeSequence(index, target.id, wrong.chosen.map((n) => n.id));
        if (!used.has(keyOf(sequence))) found = sequence;
      }
      if (found !== undefined && found.wrongTerminals.length < k) metrics.increment('linearize.k_reduced');
    }
    if (found === undefined) {
      metrics.increment('linearize.repeat_skipped');
      continue;
    }
    used.add(keyOf(found));
    plans.push({ variant: k === 0 ? 'direct' : 'search', variantIndex, sequence: found });
  }
  return plans;
}

/**
 * The `direct_ablation` arm, count-matched to the traces written (ASTRO-METHOD §3, the paper's
 * ablation): the j-th written trace is matched by the direct path to its own n* when no ablation
 * trace took that path yet, else to another correct terminal not taken (uniform, seed
 * `(seed, tree_id, 'ablation', j)`), so the arm never repeats a completion. When every correct
 * terminal is taken the trace has no match (`linearize.ablation_unmatched`).
 */
export function planAblation(index: TreeIndex, targets: readonly TreeNode[], matchedTargets: readonly number[], config: LinearizeConfig, treeId: string, metrics: Metrics): Plan[] {
  const used = new Set<string>();
  const plans: Plan[] = [];
  for (const [j, target] of matchedTargets.entries()) {
    const own = nodeSequence(index, target, []);
    const sequence = used.has(keyOf(own)) ? freshTarget(targets, index, used, createRng(deriveSeed(config.seed, treeId, 'ablation', j))) : own;
    if (sequence === undefined) {
      metrics.increment('linearize.ablation_unmatched');
      continue;
    }
    used.add(keyOf(sequence));
    plans.push({ variant: 'direct_ablation', variantIndex: config.kMix.length + j, sequence });
  }
  return plans;
}
