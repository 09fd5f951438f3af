import type { StepProposal } from './policy.js';

/** A step kept for expansion, with its prior P(a|s) over the kept siblings. */
export interface Candidate {
  readonly text: string;
  readonly prior: number;
}

/**
 * Drops exact duplicates after trimming whitespace, among the proposals and against `existing`
 * sibling steps; also drops steps that are empty after trimming (they would not move the state).
 * The first occurrence wins, so its `prior` / `logprob` is the one kept. Texts come back trimmed.
 */
export function dedupeProposals(
  proposals: readonly StepProposal[],
  existing: readonly string[] = [],
): { kept: StepProposal[]; dropped: number } {
  const seen = new Set(existing.map((s) => s.trim()));
  const kept: StepProposal[] = [];
  for (const proposal of proposals) {
    const text = proposal.text.trim();
    if (text === '' || seen.has(text)) continue;
    seen.add(text);
    kept.push({ ...proposal, text });
  }
  return { kept, dropped: proposals.length - kept.length };
}

const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

/**
 * Priors of kept siblings, summing to 1. Decided for the whole sibling set, because a backend
 * prior and a log-probability are not on one scale: when every proposal has a `prior`, those
 * renormalized; else when every one has a `logprob`, softmax over them; else uniform.
 * (Softmax over the k proposals renormalized over the kept ones is the softmax over the kept.)
 */
export function computePriors(kept: readonly StepProposal[]): number[] {
  const n = kept.length;
  if (n === 0) return [];
  const uniform = (): number[] => kept.map(() => 1 / n);
  if (kept.every((p) => finite(p.prior) && p.prior >= 0)) {
    const raw = kept.map((p) => p.prior ?? 0);
    const sum = raw.reduce((a, b) => a + b, 0);
    return sum > 0 ? raw.map((p) => p / sum) : uniform();
  }
  if (kept.every((p) => finite(p.logprob))) {
    const lp = kept.map((p) => p.logprob ?? 0);
    // Shift by the max so exp never overflows; the result is unchanged.
    const max = Math.max(...lp);
    const w = lp.map((x) => Math.exp(x - max));
    const sum = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / sum);
  }
  return uniform();
}

/** Dedupe, then priors: the candidate children of one expansion. */
export function selectCandidates(
  proposals: readonly StepProposal[],
  existing: readonly string[] = [],
): { candidates: Candidate[]; dropped: number } {
  const { kept, dropped } = dedupeProposals(proposals, existing);
  const priors = computePriors(kept);
  return { candidates: kept.map((p, i) => ({ text: p.text, prior: priors[i] ?? 0 })), dropped };
}
