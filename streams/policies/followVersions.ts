import { join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import type { Policy } from '../../operators/mcts/policy.js';
import { parsePolicyVersionNumber } from '../../operators/rl/staleness.js';
import { sha256File, type ServedGgufPolicy } from '../llm/servedGgufPolicy.js';
import type { Transport } from '../transport/transport.js';
import { FOLLOW_TOPIC, VERSIONS_FILE, type PolicySettings } from './factory.js';
import { startGgufVersionWatcher, type GgufVersionWatcher } from './ggufVersionWatcher.js';
import { followPolicyTopic, followVersionsFile } from './policyVersionSources.js';

/** A policy serving a GGUF it can switch (the openai policy with `serve`). */
export function isServedPolicy(policy: Policy): policy is ServedGgufPolicy {
  return 'switchTo' in policy && 'versionsServed' in policy;
}

/** Every version a policy served, comma-separated (the manifest's `versions.policy`). */
export function servedVersions(policy: Policy): string {
  return isServedPolicy(policy) ? policy.versionsServed().join(',') : policy.version;
}

/** `follow: topic` reads the brokers' topic: checked before any work, since an in-process run has none. */
export function assertFollowable(settings: PolicySettings, brokers: boolean): void {
  if (settings.follow === FOLLOW_TOPIC && !brokers) throw new AppError('config', `--follow-policies ${FOLLOW_TOPIC} reads astro.policy.v1 from Kafka: it needs --brokers (or follow a directory with ${VERSIONS_FILE})`);
}

/**
 * With `settings.follow`, starts the watcher that switches the served policy to each newer
 * published GGUF version: from `<follow>/versions.jsonl`, or from `astro.policy.v1` on `transport`.
 */
export async function followServedVersions(settings: PolicySettings, policy: Policy, deps: { readonly transport: Transport; readonly groupId: string; readonly logger: Logger; readonly metrics: Metrics }): Promise<GgufVersionWatcher | undefined> {
  if (settings.follow === undefined) return undefined;
  if (!isServedPolicy(policy)) throw new TypeError('only a served GGUF policy follows published versions');
  const source = settings.follow === FOLLOW_TOPIC ? await followPolicyTopic(deps.transport, deps.groupId) : followVersionsFile(join(settings.follow, VERSIONS_FILE));
  return startGgufVersionWatcher(
    { policyName: settings.policyName, initialVersion: parsePolicyVersionNumber(policy.version) },
    { source, switchTo: (next) => policy.switchTo(next), sha256: sha256File, logger: deps.logger, metrics: deps.metrics },
  );
}
