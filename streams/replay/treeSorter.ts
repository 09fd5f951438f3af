import { closeSync, createReadStream, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';

/** A tree and where it sat in its source: (partition, offset) of a topic, (file, row) of an archive. */
export interface PositionedTree {
  readonly tree: SearchTree | VerifiedTree;
  readonly position: readonly [number, number];
}

/** What the sorter needs of an item: the tree id it sorts by and the source position that breaks ties. */
export interface SortableTree {
  readonly tree: { readonly tree_id: string };
  readonly position: readonly [number, number];
}

export interface TreeSorterConfig {
  /** Trees held in memory before a sorted run is spilled to `spillDir`. */
  readonly maxInMemory: number;
  /** Where spilled runs go (created on first spill, removed by `close`). */
  readonly spillDir: string;
}

const before = (a: SortableTree, b: SortableTree): number =>
  a.tree.tree_id < b.tree.tree_id ? -1 : a.tree.tree_id > b.tree.tree_id ? 1 : a.position[0] - b.position[0] || a.position[1] - b.position[1];

/**
 * External sort of trees by tree_id with bounded memory: trees are buffered, sorted and spilled
 * as JSON-lines runs once `maxInMemory` is reached; `sorted()` merges the runs. Of several trees
 * with one id (at-least-once redelivery) the one at the lowest source position is kept, so the
 * choice does not depend on the order partitions happened to arrive in.
 *
 * Spilling is synchronous: `add` is called from a consumer's record callback, which cannot wait.
 * Items are whole trees by default, or anything carrying a tree id (a replay's per-tree outcomes):
 * spilled runs hold each item as one JSON line.
 */
export class TreeSorter<T extends SortableTree = PositionedTree> {
  private buffer: T[] = [];
  private readonly runs: string[] = [];
  // Counted while merging: ids seen more than once.
  private dropped = 0;

  constructor(private readonly config: TreeSorterConfig) {}

  add(tree: T): void {
    this.buffer.push(tree);
    if (this.buffer.length >= this.config.maxInMemory) this.spill();
  }

  /** Trees dropped as duplicates so far (final once `sorted()` has been drained). */
  duplicates(): number {
    return this.dropped;
  }

  /** Every distinct tree in ascending tree_id order. Call once, after the last `add`. */
  async *sorted(): AsyncGenerator<T> {
    const sources: AsyncIterator<T>[] = [];
    this.buffer.sort(before);
    const memory = this.buffer;
    this.buffer = [];
    if (this.runs.length === 0) sources.push(fromArray(memory));
    else {
      if (memory.length > 0) this.writeRun(memory);
      for (const run of this.runs) sources.push(readRun<T>(run));
    }
    const heads: (T | undefined)[] = await Promise.all(sources.map(async (s) => (await s.next()).value as T | undefined));
    let last: string | null = null;
    for (;;) {
      // Few runs (window / maxInMemory): a linear scan for the smallest head is cheap enough.
      let min = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        const m = min < 0 ? undefined : heads[min];
        if (h !== undefined && (m === undefined || before(h, m) < 0)) min = i;
      }
      if (min < 0) return;
      const next = heads[min] as T;
      heads[min] = (await (sources[min] as AsyncIterator<T>).next()).value as T | undefined;
      if (next.tree.tree_id === last) {
        this.dropped += 1;
        continue;
      }
      last = next.tree.tree_id;
      yield next;
    }
  }

  /** Removes spilled runs. */
  close(): void {
    if (this.runs.length > 0) rmSync(this.config.spillDir, { recursive: true, force: true });
  }

  private spill(): void {
    this.buffer.sort(before);
    this.writeRun(this.buffer);
    this.buffer = [];
  }

  private writeRun(trees: readonly T[]): void {
    mkdirSync(this.config.spillDir, { recursive: true });
    const path = join(this.config.spillDir, `run-${String(this.runs.length).padStart(6, '0')}.jsonl`);
    // JSON never contains a raw newline, so one line per tree; written in ~1 MB pieces so a big
    // run never becomes one huge string.
    const fd = openSync(path, 'w');
    try {
      let piece = '';
      for (const t of trees) {
        piece += `${JSON.stringify(t)}\n`;
        if (piece.length >= 1 << 20) {
          writeSync(fd, piece);
          piece = '';
        }
      }
      if (piece.length > 0) writeSync(fd, piece);
    } finally {
      closeSync(fd);
    }
    this.runs.push(path);
  }
}

async function* fromArray<T>(trees: readonly T[]): AsyncGenerator<T> {
  yield* trees;
}

async function* readRun<T>(path: string): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length === 0) continue;
    // Written by this process from validated trees a moment ago: parsed back without re-validating.
    yield JSON.parse(line) as T;
  }
}
