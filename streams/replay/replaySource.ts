import type { SearchTree } from '../../schemas/searchTree.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import type { DatasetManifest, DatasetSource } from '../sinks/manifest.js';
import type { TreeEncoding } from './rebuildBatch.js';
import type { ReplayLineage } from './replayManifest.js';

/** One recorded tree and the size of its stored form (bytes read, for MB/s). */
export interface SourcedTree {
  readonly tree: SearchTree | VerifiedTree;
  readonly bytes: number;
  /**
   * Where the tree sits in its source, ordered: (partition, offset) for a topic, (0, row) for an
   * archive read in file-name order. Of duplicate tree ids the lowest position is kept.
   */
  readonly position: readonly [number, number];
}

/** One record of a source, not decoded yet: the reader decodes it (e.g. on a worker thread). */
export interface EncodedTree {
  readonly value: Uint8Array;
  readonly position: readonly [number, number];
}

/** Whether an encoded record decoded as a tree; `reason` is the codec's when it did not. */
export type DecodeOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** What a source learned while reading: lineage for the new manifest and what it could not use. */
export interface ReplaySourceInfo {
  /** Topic offset ranges the trees came from (per partition), for the manifest's `sources`. */
  readonly sources: DatasetSource[];
  readonly lineage: ReplayLineage;
  /** Records in the window that did not decode as trees (counted, not fatal). */
  readonly badRecords: number;
  /** Manifest of the input dataset (dir replays), whose configs are the defaults of the rebuild. */
  readonly sourceManifest: DatasetManifest | null;
}

/** Recorded trees to rebuild a dataset from: a tree archive directory or a topic window. */
export interface ReplaySource {
  /** Human-readable origin, for logs. */
  readonly describe: string;
  /** Calls `onTree` for every tree, in source order, and resolves with the lineage once all are read. */
  read(onTree: (tree: SourcedTree) => void): Promise<ReplaySourceInfo>;
  /**
   * Optional: reads the same records without decoding them; `onRecord` decodes each (with the
   * codec of `encoding`) and resolves with the outcome, which the source awaits before it
   * resolves (bad records are counted and logged as by `read`).
   */
  readEncoded?(onRecord: (record: EncodedTree) => Promise<DecodeOutcome>): Promise<ReplaySourceInfo>;
  /** The codec of the records `readEncoded` hands out. */
  readonly encoding?: TreeEncoding;
}
