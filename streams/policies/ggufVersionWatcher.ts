import type { Subscription } from 'rxjs';
import { AppError } from '../../operators/common/errors.js';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import { formatPolicyVersion } from '../../operators/rl/staleness.js';
import { PolicyVersionCodec, type PolicyVersion } from '../../schemas/policyVersion.js';
import type { GgufVersion } from '../llm/servedGgufPolicy.js';
import type { PolicyVersionSource } from './policyVersionSources.js';

export interface GgufVersionWatcherConfig {
  /** Policy family followed (`python -m astro_lm rl --policy`, default `astro-lm`); other families are ignored. */
  readonly policyName: string;
  /** The version number serving at start (0 for a GGUF that was never published). */
  readonly initialVersion: number;
}

export interface GgufVersionWatcherDeps {
  readonly source: PolicyVersionSource;
  /** The served policy's switch (loads the GGUF on a new server; rejects with the reason when it cannot). */
  readonly switchTo: (next: GgufVersion) => Promise<void>;
  /** sha256 of a file (the record's is checked before anything is loaded). */
  readonly sha256: (path: string) => Promise<string>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A running watcher. */
export interface GgufVersionWatcher {
  /** The version number serving now. */
  version(): number;
  /** Resolves once a version ≥ `version` serves. */
  waitForVersion(version: number): Promise<void>;
  /** Versions that could not be served, with why (also logged). */
  failures(): readonly { readonly version: number; readonly path: string; readonly reason: string }[];
  /** Stops reading and waits for a switch in progress. */
  stop(): Promise<void>;
}

/**
 * Follows published policy versions (`astro.policy.v1` records, from `versions.jsonl` or the
 * topic) and switches the served policy to each newer GGUF version of the followed family, one at
 * a time, in order. A version that cannot be served (file missing, sha256 not the record's, not a
 * GGUF, llama-server refuses it) is logged with its version and the reason, counted
 * (`policy_watcher.load_failures`), and the model serving keeps serving.
 */
export function startGgufVersionWatcher(config: GgufVersionWatcherConfig, deps: GgufVersionWatcherDeps): GgufVersionWatcher {
  let current = config.initialVersion;
  const failed: { version: number; path: string; reason: string }[] = [];
  const waiters: { version: number; resolve: () => void }[] = [];
  let chain: Promise<void> = Promise.resolve();

  const serve = async (record: PolicyVersion): Promise<void> => {
    const label = formatPolicyVersion(record.policy, record.version, record.sha256);
    try {
      const actual = await deps.sha256(record.path);
      if (actual !== record.sha256) throw new AppError('config', `${record.path} has sha256 ${actual}, the record says ${record.sha256}`);
      await deps.switchTo({ label, path: record.path });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      failed.push({ version: record.version, path: record.path, reason });
      deps.metrics.increment('policy_watcher.load_failures');
      deps.logger.error(`policy versions: cannot serve ${label} (version ${record.version} of ${record.policy}): ${reason}; still serving version ${current}`);
      return;
    }
    current = record.version;
    deps.metrics.increment('policy_watcher.swaps');
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (w !== undefined && current >= w.version) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };

  const onRecord = async (bytes: Uint8Array): Promise<void> => {
    const decoded = PolicyVersionCodec.decode(bytes);
    if (!decoded.ok) {
      deps.metrics.increment('policy_watcher.bad_records');
      deps.logger.warn(`policy versions: undecodable record in ${deps.source.label}: ${decoded.error.message}`);
      return;
    }
    const record = decoded.value;
    if (record.policy !== config.policyName || record.version <= current) return;
    await serve(record);
  };

  const subscription: Subscription = deps.source.records.subscribe({
    next: (bytes) => {
      chain = chain.then(() => onRecord(bytes));
    },
    error: (error: unknown) => deps.logger.error(`policy versions: reading ${deps.source.label} failed; no further versions are picked up`, { error: String(error) }),
  });
  deps.logger.info(`policy versions: following ${config.policyName} in ${deps.source.label} (serving version ${current})`);

  return {
    version: () => current,
    waitForVersion: (version) => (current >= version ? Promise.resolve() : new Promise((resolve) => waiters.push({ version, resolve }))),
    failures: () => [...failed],
    stop: async () => {
      subscription.unsubscribe();
      await deps.source.close();
      await chain;
    },
  };
}
