import { parsePolicyVersionNumber } from '../../operators/rl/staleness.js';
import type { DeadLetter } from '../../schemas/deadLetter.js';
import type { PolicyVersion } from '../../schemas/policyVersion.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { Trace } from '../../schemas/trace.js';

/** What the tree list and the panels need of a tree, kept for every tree seen. */
export interface TreeSummary {
  readonly tree_id: string;
  readonly problem_id: string;
  readonly policy_version: string;
  readonly created_at: number;
  readonly nodes: number;
  readonly terminals: number;
  readonly correct_terminals: number;
  /** At least one correct terminal (the verifier's definition of a valid tree). */
  readonly valid: boolean;
  readonly search_ms: number;
}

/** A trace as the viewer shows it (no prompt or messages: the tree has the problem). */
export type TraceView = Pick<Trace, 'trace_id' | 'tree_id' | 'variant' | 'k' | 'num_backtracks' | 'num_reflections' | 'correct' | 'answer' | 'node_path' | 'completion' | 'policy_version' | 'created_at'>;

/** Dead letters shown in full (newest first); older ones are only counted. */
const DEAD_LETTERS_KEPT = 500;

/**
 * Everything the dashboard knows about a pipeline's output, fed by a directory or topic reader.
 * Every tree is summarized; whole trees (for the viewer) are kept up to `maxTrees`, newest
 * first, and an evicted one can be fetched again through `reload` (a directory's files).
 * Records of one id replace earlier ones (a redo overwrites its shard).
 */
export class DashboardStore {
  private readonly summaries = new Map<string, TreeSummary>();
  private readonly trees = new Map<string, SearchTree>();
  private readonly traces = new Map<string, Map<string, TraceView>>();
  private readonly letters: DeadLetter[] = [];
  private readonly lettersByKind = new Map<string, number>();
  private lettersTotal = 0;
  private readonly versions = new Map<number, PolicyVersion>();
  private readErrors: string[] = [];
  private manifest: ManifestView | null = null;
  /** Bumped on every change, so pollers can skip unchanged state. */
  revision = 0;

  constructor(private readonly maxTrees = 5_000) {}

  addTree(tree: SearchTree): void {
    const terminals = tree.nodes.filter((n) => n.terminal);
    const correct = terminals.filter((n) => n.correct === true).length;
    this.summaries.set(tree.tree_id, {
      tree_id: tree.tree_id,
      problem_id: tree.problem_id,
      policy_version: tree.policy_version,
      created_at: tree.created_at,
      nodes: tree.nodes.length,
      terminals: terminals.length,
      correct_terminals: correct,
      valid: correct > 0,
      search_ms: tree.stats.duration_ms,
    });
    this.trees.delete(tree.tree_id);
    this.trees.set(tree.tree_id, tree);
    // Maps iterate in insertion order: the first key is the least recently added tree.
    while (this.trees.size > this.maxTrees) this.trees.delete(this.trees.keys().next().value as string);
    this.revision++;
  }

  removeTree(treeId: string): void {
    if (this.summaries.delete(treeId)) this.revision++;
    this.trees.delete(treeId);
  }

  addTrace(trace: Trace): void {
    let forTree = this.traces.get(trace.tree_id);
    if (forTree === undefined) {
      forTree = new Map();
      this.traces.set(trace.tree_id, forTree);
    }
    const { trace_id, tree_id, variant, k, num_backtracks, num_reflections, correct, answer, node_path, completion, policy_version, created_at } = trace;
    forTree.set(trace_id, { trace_id, tree_id, variant, k, num_backtracks, num_reflections, correct, answer, node_path, completion, policy_version, created_at });
    this.revision++;
  }

  removeTrace(treeId: string, traceId: string): void {
    if (this.traces.get(treeId)?.delete(traceId)) this.revision++;
  }

  addDeadLetter(letter: DeadLetter): void {
    this.letters.unshift(letter);
    if (this.letters.length > DEAD_LETTERS_KEPT) this.letters.pop();
    const key = `${letter.stage}\u0000${letter.error_kind}`;
    this.lettersByKind.set(key, (this.lettersByKind.get(key) ?? 0) + 1);
    this.lettersTotal++;
    this.revision++;
  }

  /** Replaces every dead letter (a directory's `dead_letters.jsonl` is rewritten whole). */
  resetDeadLetters(): void {
    this.letters.length = 0;
    this.lettersByKind.clear();
    this.lettersTotal = 0;
    this.revision++;
  }

  addPolicyVersion(version: PolicyVersion): void {
    this.versions.set(version.version, version);
    this.revision++;
  }

  /** The dataset's manifest (present once a run or a sink's graceful stop wrote it). */
  setManifest(manifest: ManifestView | null): void {
    this.manifest = manifest;
    this.revision++;
  }

  setReadErrors(errors: readonly string[]): void {
    if (errors.join('\n') === this.readErrors.join('\n')) return;
    this.readErrors = [...errors];
    this.revision++;
  }

  tree(treeId: string): SearchTree | undefined {
    return this.trees.get(treeId);
  }

  summary(treeId: string): TreeSummary | undefined {
    return this.summaries.get(treeId);
  }

  tracesOf(treeId: string): TraceView[] {
    return [...(this.traces.get(treeId)?.values() ?? [])].sort((a, b) => a.trace_id.localeCompare(b.trace_id));
  }

  /** Trees whose id or problem id contains `query` (newest first), at most `limit`. */
  findTrees(query: string, limit: number): (TreeSummary & { readonly traces: number })[] {
    const q = query.trim().toLowerCase();
    const found: TreeSummary[] = [];
    for (const s of this.summaries.values()) if (q === '' || s.tree_id.toLowerCase().includes(q) || s.problem_id.toLowerCase().includes(q)) found.push(s);
    found.sort((a, b) => b.created_at - a.created_at || a.tree_id.localeCompare(b.tree_id));
    return found.slice(0, limit).map((s) => ({ ...s, traces: this.traces.get(s.tree_id)?.size ?? 0 }));
  }

  /** Everything the overview panels plot, computed from what the store holds. */
  overview(): DatasetOverview {
    const trees = [...this.summaries.values()];
    const traces = [...this.traces.values()].flatMap((m) => [...m.values()]);
    const variants: Record<string, number> = {};
    const backtracks: Record<string, number> = {};
    for (const t of traces) {
      variants[t.variant] = (variants[t.variant] ?? 0) + 1;
      backtracks[String(t.num_backtracks)] = (backtracks[String(t.num_backtracks)] ?? 0) + 1;
    }
    return {
      revision: this.revision,
      counts: {
        trees: trees.length,
        problems: new Set(trees.map((t) => t.problem_id)).size,
        valid_trees: trees.filter((t) => t.valid).length,
        traces: traces.length,
        dead_letters: this.lettersTotal,
      },
      variants,
      backtracks,
      timeline: timeline(trees, traces),
      by_policy: byPolicy(trees),
      policy_versions: [...this.versions.values()].sort((a, b) => a.version - b.version).map((v) => ({ version: v.version, step: v.step, created_at: v.created_at, metrics: Object.fromEntries(v.metrics.map((m) => [m.name, m.value])) })),
      dead_letters: {
        total: this.lettersTotal,
        by_kind: [...this.lettersByKind].map(([key, count]) => {
          const [stage, kind] = key.split('\u0000');
          return { stage: stage ?? '', kind: kind ?? '', count };
        }),
        recent: this.letters.slice(0, 100).map((d) => ({ stage: d.stage, source_topic: d.source_topic, partition: d.source_partition, offset: d.source_offset, key: d.key, kind: d.error_kind, retriable: d.retriable, reason: d.reason, failed_at: d.failed_at })),
      },
      read_errors: this.readErrors,
      manifest: this.manifest,
    };
  }
}

/** One time bucket of the "over time" panels (tree `created_at`, i.e. when its search finished). */
export interface TimelinePoint {
  /** Bucket start, epoch ms. */
  readonly t: number;
  readonly trees: number;
  readonly valid: number;
  readonly terminals: number;
  readonly correct_terminals: number;
  readonly traces: number;
}

export interface PolicyPoint {
  readonly policy_version: string;
  readonly version: number;
  readonly trees: number;
  readonly valid: number;
  readonly terminals: number;
  readonly correct_terminals: number;
  readonly first_at: number;
}

export interface DatasetOverview {
  readonly revision: number;
  readonly counts: { readonly trees: number; readonly problems: number; readonly valid_trees: number; readonly traces: number; readonly dead_letters: number };
  readonly variants: Readonly<Record<string, number>>;
  readonly backtracks: Readonly<Record<string, number>>;
  readonly timeline: { readonly bucket_ms: number; readonly points: readonly TimelinePoint[] };
  readonly by_policy: readonly PolicyPoint[];
  readonly policy_versions: readonly { readonly version: number; readonly step: number; readonly created_at: number; readonly metrics: Readonly<Record<string, number>> }[];
  readonly dead_letters: {
    readonly total: number;
    readonly by_kind: readonly { readonly stage: string; readonly kind: string; readonly count: number }[];
    readonly recent: readonly Record<string, unknown>[];
  };
  readonly read_errors: readonly string[];
  readonly manifest: ManifestView | null;
}

/** The parts of `manifest.json` the dashboard shows. */
export interface ManifestView {
  readonly command: string;
  readonly created_at: number;
  readonly counts: Readonly<Record<string, number>>;
}

const NICE_BUCKETS_MS = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 21_600_000, 86_400_000];

/** Buckets trees and traces by `created_at` into at most ~60 buckets of a round width. */
export function timeline(trees: readonly TreeSummary[], traces: readonly Pick<TraceView, 'created_at'>[]): { bucket_ms: number; points: TimelinePoint[] } {
  if (trees.length === 0) return { bucket_ms: NICE_BUCKETS_MS[0] as number, points: [] };
  let min = Infinity;
  let max = -Infinity;
  for (const t of trees) {
    min = Math.min(min, t.created_at);
    max = Math.max(max, t.created_at);
  }
  const bucket = NICE_BUCKETS_MS.find((b) => (max - min) / b <= 60) ?? (NICE_BUCKETS_MS.at(-1) as number);
  const start = Math.floor(min / bucket) * bucket;
  const count = Math.floor((max - start) / bucket) + 1;
  const points = Array.from({ length: count }, (_, i) => ({ t: start + i * bucket, trees: 0, valid: 0, terminals: 0, correct_terminals: 0, traces: 0 }));
  const at = (ms: number) => points[Math.min(count - 1, Math.max(0, Math.floor((ms - start) / bucket)))];
  for (const t of trees) {
    const p = at(t.created_at);
    if (p === undefined) continue;
    p.trees++;
    if (t.valid) p.valid++;
    p.terminals += t.terminals;
    p.correct_terminals += t.correct_terminals;
  }
  for (const t of traces) {
    const p = at(t.created_at);
    if (p !== undefined) p.traces++;
  }
  return { bucket_ms: bucket, points };
}

/** Trees grouped by the policy version that searched them, in version order. */
export function byPolicy(trees: readonly TreeSummary[]): PolicyPoint[] {
  const groups = new Map<string, { policy_version: string; version: number; trees: number; valid: number; terminals: number; correct_terminals: number; first_at: number }>();
  for (const t of trees) {
    let g = groups.get(t.policy_version);
    if (g === undefined) {
      g = { policy_version: t.policy_version, version: parsePolicyVersionNumber(t.policy_version), trees: 0, valid: 0, terminals: 0, correct_terminals: 0, first_at: t.created_at };
      groups.set(t.policy_version, g);
    }
    g.trees++;
    if (t.valid) g.valid++;
    g.terminals += t.terminals;
    g.correct_terminals += t.correct_terminals;
    g.first_at = Math.min(g.first_at, t.created_at);
  }
  return [...groups.values()].sort((a, b) => a.version - b.version || a.first_at - b.first_at);
}
