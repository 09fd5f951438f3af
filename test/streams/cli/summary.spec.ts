import { describe, expect, it } from 'vitest';
import { DeadLetterTally, exitCodeOf, formatSummary, summarize } from '../../../streams/cli/summary.js';

const letter = (stage: string, kind: string, reason: string) => ({ stage, error_kind: kind, reason });

describe('run summary and exit code', () => {
  it('tallies dead letters by stage and kind, largest first, keeping the first reason', () => {
    const tally = new DeadLetterTally();
    tally.add(letter('search', 'policy', 'HTTP 500 first'));
    tally.add(letter('source', 'decode', 'line 2: invalid JSON'));
    tally.add(letter('search', 'policy', 'HTTP 500 second'));
    expect(tally.total()).toBe(3);
    expect(tally.list()).toEqual([
      { stage: 'search', kind: 'policy', count: 2, reason: 'HTTP 500 first' },
      { stage: 'source', kind: 'decode', count: 1, reason: 'line 2: invalid JSON' },
    ]);
  });

  it('exits 0 only when every problem produced a tree, 3 when anything was dead-lettered or lost, 130 when interrupted', () => {
    const base = { interrupted: null, dead_lettered: 0, problems: 5, trees: 5 };
    expect(exitCodeOf(base)).toBe(0);
    expect(exitCodeOf({ ...base, dead_lettered: 1, trees: 4 })).toBe(3);
    // A source row dead-lettered while every problem produced its tree: still not a clean run.
    expect(exitCodeOf({ ...base, dead_lettered: 1 })).toBe(3);
    expect(exitCodeOf({ ...base, trees: 4 })).toBe(3);
    expect(exitCodeOf({ ...base, trees: 2, interrupted: 'SIGINT' })).toBe(130);
  });

  it('says how many were dead-lettered and why, and that a run was interrupted', () => {
    const tally = new DeadLetterTally();
    tally.add(letter('search', 'policy', `HTTP 502 ${'x'.repeat(300)}`));
    const summary = summarize({ problems: 3, metrics: { counters: { 'search.trees': 2, 'traces.written': 4, 'traces.variant.direct': 4 }, observations: {} }, wallMs: 1000, out: 'out/x', deadLetters: tally, interrupted: 'SIGINT' });
    expect(summary).toMatchObject({ dead_lettered: 1, interrupted: 'SIGINT', valid_trees: 2, traces: 4 });
    const text = formatSummary(summary);
    expect(text).toMatch(/^INTERRUPTED\s+SIGINT: /);
    expect(text).toMatch(/dead-lettered\s+1 \(see out\/x\/dead_letters.jsonl\)\n\s+1 search policy: HTTP 502 x+\.\.\.\n/);
    expect(text.split('\n').every((l) => l.length <= 200)).toBe(true);
  });

  it('counts problems that produced neither a tree nor a dead letter', () => {
    const summary = summarize({ problems: 3, metrics: { counters: { 'search.trees': 2 }, observations: {} }, wallMs: 1, out: 'o', deadLetters: new DeadLetterTally() });
    expect(formatSummary(summary)).toMatch(/no tree\s+1 problem\(s\) produced neither a tree nor a dead letter/);
    expect(exitCodeOf(summary)).toBe(3);
  });
});
