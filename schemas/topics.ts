import type { TopicSpec } from '../streams/transport/transport.js';
import type { Codec } from './codec.js';
import { DeadLetterCodec, dlqTopicOf } from './deadLetter.js';
import { PolicyVersionCodec, POLICY_TOPIC } from './policyVersion.js';
import { ProblemCodec, PROBLEMS_TOPIC } from './problem.js';
import { RolloutGroupCodec, ROLLOUTS_TOPIC } from './rolloutGroup.js';
import { SearchTreeCodec, TREES_TOPIC } from './searchTree.js';
import { TraceCodec, TRACES_TOPIC } from './trace.js';
import { VerifiedTreeCodec, VERIFIED_TREES_TOPIC } from './verifiedTree.js';

/** Rollouts produced by a policy too far behind the trainer (routed, counted, never dropped). */
export const STALE_ROLLOUTS_TOPIC = 'astro.rollouts.stale.v1';

/** Matches the main problems topic and per-source ones (`astro.problems.<name>.v1`), for pattern subscription. */
export const PROBLEM_SOURCE_PATTERN = /^astro\.problems(\.[A-Za-z0-9_-]+)?\.v1$/;

/** Name of a per-source problems topic. */
export const problemSourceTopic = (name: string): string => `astro.problems.${name}.v1`;

const WEEK_MS = 7 * 24 * 3600 * 1000;
const FOREVER = -1;
/**
 * Largest record of a data topic. Kafka's 1 MiB default is too small for the trees of long LLM
 * searches (hundreds of nodes of kilobyte steps); a bigger record is dead-lettered, not fatal.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** Largest record of a DLQ: a dead letter carries its record base64-encoded (4/3 of the size) plus the reason. */
export const MAX_DEAD_LETTER_BYTES = 32 * 1024 * 1024;
/**
 * Most original bytes a dead letter carries: base64 of this many bytes plus 64 KiB for the other
 * fields fits a DLQ record. A larger original (a 50 MB line of a problem file) keeps its first
 * bytes, with its full size and `value_truncated`.
 */
export const MAX_DEAD_LETTER_ORIGINAL_BYTES = Math.floor((MAX_DEAD_LETTER_BYTES - 64 * 1024) / 4) * 3;

interface TopicEntry {
  readonly spec: Omit<TopicSpec, 'name' | 'partitions'> & { readonly partitions?: number };
  readonly codec: Codec<never>;
  readonly description: string;
}

/** The one registry of topics: partitions and retention per topic, and the codec of its records. */
const REGISTRY: Readonly<Record<string, TopicEntry>> = {
  [PROBLEMS_TOPIC]: { spec: { retentionMs: WEEK_MS }, codec: ProblemCodec as Codec<never>, description: 'problems from every source, keyed by problem id' },
  // The expensive asset: kept forever so datasets can be rebuilt from it (replay).
  [TREES_TOPIC]: { spec: { retentionMs: FOREVER }, codec: SearchTreeCodec as Codec<never>, description: 'complete search trees, keyed by problem id' },
  [VERIFIED_TREES_TOPIC]: { spec: { retentionMs: FOREVER }, codec: VerifiedTreeCodec as Codec<never>, description: 'trees labelled by a versioned verifier' },
  [TRACES_TOPIC]: { spec: { retentionMs: FOREVER }, codec: TraceCodec as Codec<never>, description: 'linearized chain-of-thought traces' },
  [ROLLOUTS_TOPIC]: { spec: { retentionMs: WEEK_MS }, codec: RolloutGroupCodec as Codec<never>, description: 'RL rollout groups with verified rewards' },
  [STALE_ROLLOUTS_TOPIC]: { spec: { retentionMs: WEEK_MS }, codec: RolloutGroupCodec as Codec<never>, description: 'rollout groups too stale for the trainer' },
  // Compacted: the newest version per policy name is what a restarted searcher needs.
  [POLICY_TOPIC]: { spec: { retentionMs: FOREVER, compacted: true, partitions: 1 }, codec: PolicyVersionCodec as Codec<never>, description: 'policy versions' },
};

/** Every topic name of the registry (not the DLQs). */
export const TOPIC_NAMES: readonly string[] = Object.keys(REGISTRY);

export interface TopicSpecOptions {
  /** Partitions for the data topics (the policy topic always has 1). Default 4. */
  readonly partitions?: number;
  /** Replication factor (Kafka clusters). Default 1. */
  readonly replicationFactor?: number;
}

/** The spec of a registered topic (or of a per-source problems topic). Throws on unknown names. */
export function topicSpec(name: string, options: TopicSpecOptions = {}): TopicSpec {
  const entry = REGISTRY[name] ?? (PROBLEM_SOURCE_PATTERN.test(name) ? REGISTRY[PROBLEMS_TOPIC] : undefined);
  if (entry === undefined) throw new RangeError(`unknown topic ${name}; registered: ${TOPIC_NAMES.join(', ')}`);
  return {
    name,
    partitions: entry.spec.partitions ?? options.partitions ?? 4,
    retentionMs: entry.spec.retentionMs,
    maxMessageBytes: MAX_RECORD_BYTES,
    ...(entry.spec.compacted ? { compacted: true } : {}),
    ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}),
  };
}

/** DLQs keep what failed for as long as the data it came from could be needed. */
export function dlqSpecFor(topic: string, options: TopicSpecOptions = {}): TopicSpec {
  return {
    name: dlqTopicOf(topic),
    partitions: 1,
    retentionMs: FOREVER,
    maxMessageBytes: MAX_DEAD_LETTER_BYTES,
    ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}),
  };
}

/** Specs of every registered topic and its DLQ. */
export function allTopicSpecs(options: TopicSpecOptions = {}): TopicSpec[] {
  return TOPIC_NAMES.flatMap((name) => [topicSpec(name, options), dlqSpecFor(name, options)]);
}

/** The codec of a topic's records (DLQ topics → DeadLetter). */
export function codecOf(topic: string): Codec<unknown> {
  if (topic.endsWith('.dlq')) return DeadLetterCodec as Codec<unknown>;
  const entry = REGISTRY[topic] ?? (PROBLEM_SOURCE_PATTERN.test(topic) ? REGISTRY[PROBLEMS_TOPIC] : undefined);
  if (entry === undefined) throw new RangeError(`unknown topic ${topic}`);
  return entry.codec as Codec<unknown>;
}

/** One line per topic, for `topics describe` and the README. */
export function describeTopics(): { name: string; description: string; retentionMs: number; compacted: boolean }[] {
  return TOPIC_NAMES.map((name) => {
    const entry = REGISTRY[name] as TopicEntry;
    return { name, description: entry.description, retentionMs: entry.spec.retentionMs, compacted: entry.spec.compacted === true };
  });
}
