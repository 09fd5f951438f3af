import type { Logger } from '../../operators/common/metrics.js';
import { DeadLetterCodec, DLQ_SUFFIX } from '../../schemas/deadLetter.js';
import { POLICY_TOPIC, PolicyVersionCodec } from '../../schemas/policyVersion.js';
import { SearchTreeCodec, TREES_TOPIC } from '../../schemas/searchTree.js';
import { TraceCodec, TRACES_TOPIC } from '../../schemas/trace.js';
import type { Consumer, Transport } from '../transport/transport.js';
import type { DashboardStore } from './dashboardStore.js';

/** A running topic reader. */
export interface TopicWatch {
  /** Records read so far (all topics). */
  received(): number;
  stop(): Promise<void>;
}

/**
 * Feeds `store` from the topics of a running deployment: search trees, traces, policy versions
 * and every dead-letter topic that exists at start. It reads from the beginning as a fresh group
 * of its own and never commits: watching changes nothing for the stages. Undecodable records are
 * counted in the store's read errors, never fatal.
 */
export async function watchTopics(transport: Transport, store: DashboardStore, deps: { readonly logger: Logger; readonly groupId: string }): Promise<TopicWatch> {
  const existing = await transport.listTopics();
  const dlqs = existing.filter((t) => t.endsWith(DLQ_SUFFIX));
  const topics = [TREES_TOPIC, TRACES_TOPIC, POLICY_TOPIC, ...dlqs].filter((t) => existing.includes(t));
  const consumer: Consumer = await transport.consumer({ groupId: deps.groupId, topics, fromBeginning: true });
  let received = 0;
  let bad = 0;
  const sub = consumer.records.subscribe({
    next: (record) => {
      received++;
      const fail = (message: string): void => {
        bad++;
        store.setReadErrors([`${bad} undecodable record(s); last: ${record.topic}[${record.partition}]@${record.offset}: ${message}`]);
      };
      if (record.topic === TREES_TOPIC) {
        const r = SearchTreeCodec.decode(record.value);
        if (r.ok) store.addTree(r.value);
        else fail(r.error.message);
      } else if (record.topic === TRACES_TOPIC) {
        const r = TraceCodec.decode(record.value);
        if (r.ok) store.addTrace(r.value);
        else fail(r.error.message);
      } else if (record.topic === POLICY_TOPIC) {
        const r = PolicyVersionCodec.decode(record.value);
        if (r.ok) store.addPolicyVersion(r.value);
        else fail(r.error.message);
      } else {
        const r = DeadLetterCodec.decode(record.value);
        if (r.ok) store.addDeadLetter(r.value);
        else fail(r.error.message);
      }
    },
    error: (error: unknown) => deps.logger.error('dashboard: topic reader failed', { error: String(error) }),
  });
  deps.logger.info(`dashboard: reading ${topics.join(', ')} as group ${deps.groupId}`);
  return {
    received: () => received,
    stop: async () => {
      sub.unsubscribe();
      await consumer.close();
    },
  };
}
