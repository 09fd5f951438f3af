import type { Metrics } from '../../operators/common/metrics.js';
import { mayAdmit, type StalenessConfig } from '../../operators/rl/staleness.js';
import type { StageSpec } from '../stages/stageRuntime.js';

/**
 * Admission control of producers against a stalled or slow trainer: each producer may publish at
 * most `maxRecordsPerVersion` records per policy version; past it, `admit()` waits until the
 * trainer publishes a newer version. The stage's handler blocks in `admit()`, its in-flight count
 * reaches the high-water mark, and the stage runtime pauses the consumer: the pause propagates.
 */
export interface StalenessGate {
  /** Resolves when one more record may be produced; waits while the producer is at the bound. */
  admit(): Promise<void>;
  /** Counts one record produced under the current version. */
  produced(): void;
  /** Called when a newer policy version is current: the budget starts over. */
  onVersion(version: number): void;
  /** True while at least one producer waits at the bound. */
  blocked(): boolean;
  /** Total ms producers spent waiting for the trainer. */
  waitedMs(): number;
  /** Releases every waiter (shutdown). */
  open(): void;
}

/** A gate per producer stage. `clock` measures waiting time (ms). */
export function createStalenessGate(name: string, config: StalenessConfig, deps: { readonly metrics: Metrics; readonly clock: () => number }): StalenessGate {
  let version = -1;
  let count = 0;
  let reserved = 0; // admitted and not yet produced: counted against the budget so concurrent handlers cannot overshoot
  let opened = false;
  let waited = 0;
  const waiters: (() => void)[] = [];
  const release = (): void => {
    while (waiters.length > 0 && (opened || mayAdmit(count + reserved, config))) {
      reserved++;
      waiters.shift()?.();
    }
  };
  return {
    admit: () => {
      if (opened || mayAdmit(count + reserved, config)) {
        reserved++;
        return Promise.resolve();
      }
      deps.metrics.increment(`${name}.staleness_pauses`);
      const since = deps.clock();
      return new Promise<void>((resolve) =>
        waiters.push(() => {
          waited += deps.clock() - since;
          resolve();
        }),
      );
    },
    produced: () => {
      reserved = Math.max(0, reserved - 1);
      count++;
    },
    onVersion: (next) => {
      if (next <= version) return;
      version = next;
      count = 0;
      release();
    },
    blocked: () => waiters.length > 0,
    waitedMs: () => waited,
    open: () => {
      opened = true;
      release();
    },
  };
}

/** Wraps a producer stage so every record passes the gate before it is handled. */
export function gateStage<In>(spec: StageSpec<In>, gate: StalenessGate): StageSpec<In> {
  return {
    ...spec,
    handle: async (value, record) => {
      await gate.admit();
      try {
        return await spec.handle(value, record);
      } finally {
        gate.produced();
      }
    },
  };
}
