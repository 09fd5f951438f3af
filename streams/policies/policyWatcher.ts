import type { Subscription } from 'rxjs';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import type { Policy } from '../../operators/mcts/policy.js';
import { formatPolicyVersion } from '../../operators/rl/staleness.js';
import { PolicyValueNet } from '../../models/policyValueNet.js';
import { POLICY_TOPIC, PolicyVersionCodec, type PolicyVersion } from '../../schemas/policyVersion.js';
import type { Consumer, Transport } from '../transport/transport.js';
import { createCountdownNetPolicy } from './onnxPolicy.js';

/** One loaded policy version: the Policy the searchers use and the network behind it (rollouts need its priors). */
export interface LoadedPolicy {
  /** Version number (0 = the shipped initial network). */
  readonly version: number;
  readonly policy: Policy;
  readonly net: PolicyValueNet;
}

export interface PolicyWatcherConfig {
  /** Policy family to follow (records of other families are ignored), e.g. `countdown-mlp`. */
  readonly policyName: string;
  /** Consumer group of this watcher; must be unique per process (every process needs every version). */
  readonly groupId: string;
  /** Most states per onnxruntime run of loaded networks. Default 256. */
  readonly maxBatch?: number;
}

export interface PolicyWatcherDeps {
  readonly transport: Transport;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Where the watcher starts: usually the initial network as version 0. */
  readonly initial: LoadedPolicy;
  /** Reads a model file (default: PolicyValueNet.load from the path). Injected by tests. */
  readonly load?: (record: PolicyVersion) => Promise<PolicyValueNet>;
  /** Called after each swap (e.g. to reset producers' staleness budgets). */
  readonly onSwap?: (loaded: LoadedPolicy) => void;
}

/** A live view of the newest policy version published to `astro.policy.v1`. */
export interface PolicyWatcher {
  /** The newest loaded Policy; what the search stage's `policy: () => Policy` dep reads per problem. */
  current(): Policy;
  /** The newest loaded version with its network. */
  currentLoaded(): LoadedPolicy;
  /** Resolves once a version ≥ `version` is loaded. */
  waitForVersion(version: number): Promise<LoadedPolicy>;
  /** Swaps so far. */
  swaps(): number;
  /** Stops watching and releases every network it loaded (not the initial one). */
  stop(): Promise<void>;
}

/**
 * Subscribes to `astro.policy.v1` and hot-swaps: every record of the followed family with a higher
 * version than the current one is loaded, then becomes `current()`. Callers that read `current()`
 * between problems switch versions without a restart; work in flight finishes on the version it
 * started with (old networks stay open until `stop()`, so a search mid-tree never loses its net).
 * A version that fails to load is logged and counted, and the watcher keeps the one it has.
 */
export async function startPolicyWatcher(config: PolicyWatcherConfig, deps: PolicyWatcherDeps): Promise<PolicyWatcher> {
  const load = deps.load ?? ((record: PolicyVersion) => PolicyValueNet.load(record.path, { maxBatch: config.maxBatch ?? 256 }));
  let current = deps.initial;
  let swaps = 0;
  const owned: PolicyValueNet[] = [];
  const waiters: { version: number; resolve: (p: LoadedPolicy) => void }[] = [];
  const consumer: Consumer = await deps.transport.consumer({ groupId: config.groupId, topics: [POLICY_TOPIC], fromBeginning: true });
  // Records are loaded one at a time, in order, so versions never swap backwards.
  let chain: Promise<void> = Promise.resolve();

  const onRecord = async (bytes: Uint8Array): Promise<void> => {
    const decoded = PolicyVersionCodec.decode(bytes);
    if (!decoded.ok) {
      deps.metrics.increment('policy_watcher.bad_records');
      deps.logger.warn('policy watcher: undecodable policy version', { reason: decoded.error.message });
      return;
    }
    const record = decoded.value;
    if (record.policy !== config.policyName || record.version <= current.version) return;
    let net: PolicyValueNet;
    try {
      net = await load(record);
    } catch (error) {
      deps.metrics.increment('policy_watcher.load_failures');
      deps.logger.error(`policy watcher: cannot load version ${record.version} from ${record.path}`, { error: String(error) });
      return;
    }
    if (net.sha256 !== record.sha256) {
      deps.metrics.increment('policy_watcher.load_failures');
      deps.logger.error(`policy watcher: ${record.path} has sha256 ${net.sha256}, record says ${record.sha256}`);
      await net.close();
      return;
    }
    owned.push(net);
    current = { version: record.version, net, policy: createCountdownNetPolicy(net, { version: formatPolicyVersion(config.policyName, record.version, record.sha256) }) };
    swaps++;
    deps.metrics.increment('policy_watcher.swaps');
    deps.logger.info(`policy watcher: now on ${current.policy.version}`);
    deps.onSwap?.(current);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (w !== undefined && current.version >= w.version) {
        waiters.splice(i, 1);
        w.resolve(current);
      }
    }
  };

  const subscription: Subscription = consumer.records.subscribe((record) => {
    chain = chain.then(() => onRecord(record.value));
  });

  return {
    current: () => current.policy,
    currentLoaded: () => current,
    waitForVersion: (version) => (current.version >= version ? Promise.resolve(current) : new Promise((resolve) => waiters.push({ version, resolve }))),
    swaps: () => swaps,
    stop: async () => {
      subscription.unsubscribe();
      await consumer.close();
      await chain;
      for (const net of owned) await net.close();
    },
  };
}
