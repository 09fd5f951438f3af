/** The policy-lag bound between producers (search, rollouts) and the trainer. */
export interface StalenessConfig {
  /** Most versions a record's policy may be behind the trainer's newest one and still be trained on. */
  readonly maxPolicyLag: number;
  /**
   * Most records a producer may publish under one policy version before the trainer has published
   * a newer one; past it the producer stops admitting new work until a new version arrives.
   */
  readonly maxRecordsPerVersion: number;
}

/** A record's fate at the trainer: train on it, or route it to the stale topic (counted). */
export type StalenessVerdict = { readonly fresh: true; readonly lag: number } | { readonly fresh: false; readonly lag: number };

/** How many versions `recordVersion` is behind `trainerVersion` (never negative). */
export function policyLag(recordVersion: number, trainerVersion: number): number {
  return Math.max(0, trainerVersion - recordVersion);
}

/** Fresh when the lag is at most `maxPolicyLag`; stale records are routed, never dropped. */
export function judgeStaleness(recordVersion: number, trainerVersion: number, config: StalenessConfig): StalenessVerdict {
  const lag = policyLag(recordVersion, trainerVersion);
  return { fresh: lag <= config.maxPolicyLag, lag };
}

/**
 * Whether a producer may admit one more unit of work: it has published `producedAtVersion`
 * records since the policy it uses became current. A stalled trainer publishes no new version,
 * so producers pause at the bound instead of flooding it with data from an ever older policy.
 */
export function mayAdmit(producedAtVersion: number, config: StalenessConfig): boolean {
  return producedAtVersion < config.maxRecordsPerVersion;
}

/**
 * The version number in a policy version string `name@v<N>…` (see `formatPolicyVersion`), or 0
 * for a string without one (e.g. the shipped initial network's `countdown-mlp@<sha>`).
 */
export function parsePolicyVersionNumber(version: string): number {
  const m = /@v(\d+)(?:\b|[.:-])/.exec(version);
  return m === null ? 0 : Number(m[1]);
}

/** `name@v<N>.<first 12 hex of sha256>`: readable, ordered by N, and naming the exact weights. */
export function formatPolicyVersion(name: string, version: number, sha256: string): string {
  return `${name}@v${version}.${sha256.slice(0, 12)}`;
}
