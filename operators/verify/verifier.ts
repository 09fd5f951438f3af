import type { Problem } from '../../schemas/problem.js';

/** A verdict on one response. "Wrong" is a verdict, not an error. */
export interface Verdict {
  readonly correct: boolean;
  /** The extracted final answer (last `\boxed{}` content, or the domain's equivalent); null when none. */
  readonly extracted: string | null;
  /** Normalized form used for comparison, when the verifier has one. */
  readonly normalized?: string | null;
  /** Why it is wrong or unparseable, for humans and DLQs. */
  readonly reason?: string;
  /**
   * Which check decided the verdict (the math verifier's `string`, `numeric`, `sampling`, `cas`,
   * `timeout`, ...), when the verifier says. `timeout` means "not equal" because the bound ran out.
   */
  readonly method?: string;
}

/**
 * One verifier module decides every reward, Q value and label (ASTRO-METHOD §7.1). Named and
 * versioned so a dataset records which verifier labelled it.
 */
export interface Verifier {
  readonly name: string;
  readonly version: string;
  /** Hash of the configuration; recorded in every verdict-bearing record. */
  readonly configHash: string;
  /** Judges a response (a full solution text or a bare answer) against the problem's gold answer. */
  verify(problem: Problem, response: string): Promise<Verdict>;
  /**
   * The same verdict computed synchronously, offered by verifiers that never wait (pure
   * computation). Hot loops, like labelling every terminal of a replayed tree, use it to skip a
   * promise per call; it throws what `verify` would reject with. Callers prefer it when present,
   * so a wrapper that changes `verify` (`{ ...v, verify }`) must replace or drop it too.
   */
  verifyNow?(problem: Problem, response: string): Verdict;
}

/** `verify` for a verifier whose work is synchronous: the promise form of `verifyNow`. */
export function promiseOf(verifyNow: (problem: Problem, response: string) => Verdict): (problem: Problem, response: string) => Promise<Verdict> {
  return (problem, response) => {
    try {
      return Promise.resolve(verifyNow(problem, response));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/** `name@version`, the form recorded in trees and traces. */
export const verifierId = (verifier: Pick<Verifier, 'name' | 'version'>): string => `${verifier.name}@${verifier.version}`;
