import { join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { DatasetManifest, ShardFile } from '../sinks/manifest.js';
import { readTreeArchive } from '../sinks/treeArchiveSink.js';
import { readParquetIds } from '../stages/shardIds.js';

/** What a run continued in its output directory (`run --resume`) takes from the dataset there. */
export interface ResumeState {
  /** Problem ids with a tree in the dataset: not searched again. */
  readonly doneProblems: ReadonlySet<string>;
  /**
   * Archived trees whose search found a correct answer but with no trace in the dataset (the run
   * was stopped between the two sinks): linearized again, without a new search.
   */
  readonly treesToRelinearize: readonly SearchTree[];
  /** Per `topic:partition`, the offset after the highest one a shard file names: where new files continue. */
  readonly offsetBase: ReadonlyMap<string, number>;
}

/** Reads the resume state of a dataset directory from its (rebuilt) manifest's files. */
export async function readResumeState(dir: string, files: readonly ShardFile[]): Promise<ResumeState> {
  const traced = new Set<string>();
  for (const file of files.filter((f) => f.kind === 'traces')) for (const id of await readParquetIds(join(dir, file.path), 'tree_id')) traced.add(id);
  const doneProblems = new Set<string>();
  const treesToRelinearize: SearchTree[] = [];
  if (files.some((f) => f.kind === 'trees')) {
    for await (const tree of readTreeArchive(dir)) {
      doneProblems.add(tree.problem_id);
      const solved = tree.nodes.some((n) => n.terminal && n.correct === true);
      if (solved && !traced.has(tree.tree_id) && !('verifier' in tree)) treesToRelinearize.push(tree);
    }
  }
  const offsetBase = new Map<string, number>();
  for (const f of files) {
    if (f.topic === null || f.partition === null || f.last_offset === null) continue;
    const key = `${f.topic}:${f.partition}`;
    offsetBase.set(key, Math.max(offsetBase.get(key) ?? 0, f.last_offset + 1));
  }
  return { doneProblems, treesToRelinearize, offsetBase };
}

/**
 * Refuses to continue a dataset made with other search or linearizer settings (their hashes are
 * in its manifest): the result would mix two configurations under one manifest.
 */
export function assertSameSettings(dir: string, manifest: DatasetManifest, hashes: { readonly search: string; readonly linearize: string }): void {
  for (const name of ['search', 'linearize'] as const) {
    const recorded = manifest.config_hashes[name];
    if (recorded !== undefined && recorded !== hashes[name]) {
      throw new AppError('config', `--resume: ${dir} was made with other ${name} settings (config hash ${recorded.slice(0, 12)}, now ${hashes[name].slice(0, 12)}); use the same flags, --overwrite, or another --out`);
    }
  }
}
