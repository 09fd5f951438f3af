import { describe, expect, it } from 'vitest';
import { PROBLEMS_TOPIC, ProblemCodec } from '../../schemas/problem.js';
import { TREES_TOPIC } from '../../schemas/searchTree.js';
import { POLICY_TOPIC } from '../../schemas/policyVersion.js';
import { MAX_RECORD_BYTES, PROBLEM_SOURCE_PATTERN, allTopicSpecs, codecOf, dlqSpecFor, problemSourceTopic, topicSpec } from '../../schemas/topics.js';

describe('topics registry', () => {
  it('keeps trees forever and compacts policies', () => {
    expect(topicSpec(TREES_TOPIC).retentionMs).toBe(-1);
    expect(topicSpec(POLICY_TOPIC)).toMatchObject({ compacted: true, partitions: 1 });
    expect(topicSpec(PROBLEMS_TOPIC, { partitions: 8 }).partitions).toBe(8);
  });

  it('lets every topic take records up to MAX_RECORD_BYTES, and its DLQ their dead letters', () => {
    expect(topicSpec(TREES_TOPIC).maxMessageBytes).toBe(MAX_RECORD_BYTES);
    expect(MAX_RECORD_BYTES).toBeGreaterThan(1024 * 1024);
    // A dead letter holds the record base64-encoded: 4/3 of its size, plus the reason.
    expect(dlqSpecFor(TREES_TOPIC).maxMessageBytes).toBeGreaterThan((MAX_RECORD_BYTES * 4) / 3 + 64 * 1024);
  });

  it('has a DLQ per topic', () => {
    const names = allTopicSpecs().map((s) => s.name);
    expect(names).toContain('astro.trees.v1.dlq');
    expect(dlqSpecFor(PROBLEMS_TOPIC).name).toBe('astro.problems.v1.dlq');
  });

  it('matches per-source problem topics by pattern', () => {
    expect(PROBLEM_SOURCE_PATTERN.test(PROBLEMS_TOPIC)).toBe(true);
    expect(PROBLEM_SOURCE_PATTERN.test(problemSourceTopic('gsm8k'))).toBe(true);
    expect(PROBLEM_SOURCE_PATTERN.test(TREES_TOPIC)).toBe(false);
    expect(codecOf(problemSourceTopic('gsm8k'))).toBe(ProblemCodec);
  });

  it('rejects unknown topics', () => {
    expect(() => topicSpec('astro.nope.v1')).toThrow(/unknown topic/);
  });
});
