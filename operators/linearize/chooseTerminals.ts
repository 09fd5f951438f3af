import type { Rng } from '../common/rng.js';
import type { TreeNode } from '../../schemas/searchTree.js';
import { lastBoxed, normalizeAnswer } from './lastBoxed.js';

/** The answer a terminal states: the verifier's extraction, else its last `\boxed{}`, else ''. */
export function terminalAnswer(node: TreeNode): string {
  return node.answer ?? lastBoxed(node.step) ?? '';
}

/** Picks n* uniformly from Ψ (ASTRO-METHOD §3.3); undefined when Ψ is empty. */
export function chooseTarget(correct: readonly TreeNode[], rng: Rng): TreeNode | undefined {
  return correct.length === 0 ? undefined : correct[rng.int(correct.length)];
}

/** The wrong terminals picked for one search trace. */
export interface WrongChoice {
  readonly chosen: readonly TreeNode[];
  /** How many pairwise-different wrong answers Λ offered. */
  readonly distinctAvailable: number;
}

/**
 * Picks min(k, distinct wrong answers) terminals from Λ with pairwise different final answers
 * (ASTRO-METHOD §3.4): first which answers (uniformly, without replacement), then which terminal
 * stating each one. Answers are compared trimmed with whitespace removed.
 */
export function chooseWrongTerminals(incorrect: readonly TreeNode[], k: number, rng: Rng): WrongChoice {
  // Insertion order = Λ's depth-first order, so a seed gives the same pick on every replay.
  const byAnswer = new Map<string, TreeNode[]>();
  for (const node of incorrect) {
    const key = normalizeAnswer(terminalAnswer(node));
    const group = byAnswer.get(key);
    if (group === undefined) byAnswer.set(key, [node]);
    else group.push(node);
  }
  const groups = [...byAnswer.values()];
  const take = Math.min(k, groups.length);
  // Partial Fisher–Yates: the first `take` slots are a uniform sample without replacement.
  for (let i = 0; i < take; i += 1) {
    const j = i + rng.int(groups.length - i);
    const a = groups[i] as TreeNode[];
    groups[i] = groups[j] as TreeNode[];
    groups[j] = a;
  }
  const chosen = groups.slice(0, take).map((group) => group[rng.int(group.length)] as TreeNode);
  return { chosen, distinctAvailable: groups.length };
}
