import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { domainOf } from '../../../domains/registry.js';
import { AppError } from '../../../operators/common/errors.js';
import { compactDataset, type CompactReport } from '../../replay/compactDataset.js';
import { inspectDataset, type DatasetInspection } from '../../replay/inspectDataset.js';
import { removeStaleTempFiles } from '../../sinks/atomicFile.js';
import { prepareDatasetDir } from '../../sinks/datasetDir.js';
import { ParquetEncoder } from '../../sinks/parquetEncoder.js';
import { rebuildManifest, type ManifestRebuild } from '../../sinks/rebuildManifest.js';
import { intFlag } from '../runConfig.js';
import { ASTRO_STREAM_VERSION } from '../util.js';

/**
 * Fails with a `config` AppError (exit 2) unless `dir` is a dataset directory: a missing path or a
 * plain file must not inspect as an empty dataset.
 */
export async function assertDatasetDir(dir: string): Promise<void> {
  const info = await stat(dir).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError('config', code === 'ENOENT' ? `no dataset directory ${dir}: it does not exist` : `cannot read ${dir}: ${(error as Error).message}`);
  });
  if (!info.isDirectory()) throw new AppError('config', `${dir} is not a directory`);
  const entries = new Set(await readdir(dir));
  if (!['manifest.json', 'traces', 'trees'].some((e) => entries.has(e))) throw new AppError('config', `${dir} is not a dataset directory (no manifest.json, traces/ or trees/)`);
}

/** Human-readable result of `--repair`. */
export function formatRepair(r: ManifestRebuild, tempsRemoved: number): string {
  const unreadable = r.unreadable.map((u) => `  unreadable, not listed: ${u.path} (${u.reason})`);
  return [
    `repair           ${r.written ? 'manifest.json rewritten' : 'manifest.json already listed every file'}: ${r.manifest.files.length} files (${r.added.length} added, ${r.dropped.length} missing dropped${r.hadManifest ? '' : ', no readable manifest before'}), ${tempsRemoved} leftover temp files removed`,
    ...unreadable,
    '',
  ].join('\n');
}

const pairs = (o: Readonly<Record<string, number>>): string =>
  Object.entries(o)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ') || '-';

/** Human-readable inspection. */
export function formatInspection(i: DatasetInspection): string {
  const integrity = !i.manifest
    ? 'no manifest.json'
    : i.manifest_mismatches.length === 0 && i.unlisted_files.length === 0
      ? 'manifest ok (sizes and checksums match)'
      : `manifest MISMATCH: ${[...i.manifest_mismatches.map((m) => `${m.path} ${m.reason}`), ...i.unlisted_files.map((f) => `${f} unlisted`)].join(', ')} (dataset inspect --repair rebuilds the manifest from the files)`;
  return [
    `dataset          ${i.dir}: ${integrity}`,
    `rows             ${i.rows} in ${i.files} files (${i.duplicate_ids} duplicate ids)`,
    `variants         ${pairs(i.by_variant)}`,
    `backtracks       ${pairs(i.backtrack_histogram)}`,
    `  vs correct     ${Object.entries(i.backtracks_by_correctness).map(([k, v]) => `${k}:${v.correct}/${v.correct + v.incorrect}`).join(' ') || '-'} (correct/rows by backtracks; Pearson r ${i.backtracks_correct_pearson === null ? 'n/a' : i.backtracks_correct_pearson.toFixed(3)})`,
    `sources          ${pairs(i.by_source)}`,
    `policy versions  ${pairs(i.by_policy_version)}`,
    `verifiers        ${pairs(i.by_verifier)} (checked with ${i.verifiers.join(', ') || '-'})`,
    `disagreements    ${i.trace_disagreements} trace rows, ${i.trees.label_disagreements} of ${i.trees.terminals} terminal labels in ${i.trees.trees_with_disagreements} of ${i.trees.count} trees`,
    '',
  ].join('\n');
}

/** Human-readable compaction report. */
export function formatCompactReport(r: CompactReport): string {
  return [
    `traces           ${r.rows_in} → ${r.rows_out} (${r.duplicate_rows_dropped - r.repeated_completions_dropped} duplicate ids, ${r.repeated_completions_dropped} repeated completions of a problem dropped)`,
    `trees            ${r.trees_in} → ${r.trees_out} (${r.duplicate_trees_dropped} duplicate ids dropped)`,
    `files            ${r.files_in} → ${r.files_out}`,
    `dataset          ${r.out}/ (manifest.json)`,
    '',
  ].join('\n');
}

/** `astro-stream dataset inspect|compact`: look into a dataset directory, or merge its shards. */
export function createDatasetCommand(): Command {
  const dataset = new Command('dataset').description('Inspect or compact a dataset directory (traces/, trees/, manifest.json)');
  dataset
    .command('inspect')
    .description('Rows, variants, backtrack histogram, per-source and per-policy counts, verifier disagreements with the recorded labels')
    .argument('<dir>', 'dataset directory')
    .option('--repair', 'first rebuild manifest.json from the shard files on disk (every file checksummed) and remove temp files of dead writers')
    .option('--json', 'print as JSON')
    .action(async (dir: string, flags: { json?: boolean; repair?: boolean }) => {
      await assertDatasetDir(dir);
      let repair: { rebuild: ManifestRebuild; tempsRemoved: number } | undefined;
      if (flags.repair === true) {
        let tempsRemoved = 0;
        for (const sub of ['', 'traces', 'trees']) tempsRemoved += await removeStaleTempFiles(join(dir, sub));
        repair = { rebuild: await rebuildManifest(dir, { verify: true, version: ASTRO_STREAM_VERSION }), tempsRemoved };
      }
      const inspection = await inspectDataset(dir, { domainOf });
      if (flags.json === true) process.stdout.write(`${JSON.stringify(repair === undefined ? inspection : { ...inspection, repair: { ...repair.rebuild, manifest: undefined, temps_removed: repair.tempsRemoved } })}\n`);
      else process.stdout.write((repair === undefined ? '' : formatRepair(repair.rebuild, repair.tempsRemoved)) + formatInspection(inspection));
      // A damaged dataset is a failure a script must see; --repair fixes what the files allow.
      if (inspection.manifest_mismatches.length > 0 || inspection.unlisted_files.length > 0) process.exitCode = 1;
    });
  dataset
    .command('compact')
    .description('Merge the shards of one or more datasets (e.g. several runs) into few files, drop duplicate ids (and, with --dedupe text, repeated completions of a problem), write a consistent manifest')
    .argument('<dirs...>', 'dataset directories')
    .requiredOption('--out <dir>', 'new dataset directory (must be new or empty)')
    .option('--rows-per-file <n>', 'rows per output file (default 100000)', intFlag('--rows-per-file'))
    .option('--dedupe <what>', 'id (rows with the same trace_id) or text (also rows repeating a completion of their problem) (default id)', 'id')
    .option('--json', 'print the report as JSON')
    .action(async (dirs: string[], flags: { out: string; rowsPerFile?: number; dedupe: string; json?: boolean }) => {
      if (flags.rowsPerFile !== undefined && flags.rowsPerFile < 1) throw new AppError('config', '--rows-per-file must be >= 1');
      if (flags.dedupe !== 'id' && flags.dedupe !== 'text') throw new AppError('config', `--dedupe must be id or text, got ${JSON.stringify(flags.dedupe)}`);
      const dedupe = flags.dedupe;
      for (const dir of dirs) await assertDatasetDir(dir);
      const out = await prepareDatasetDir(flags.out, 'new', { notEmptyHint: 'compact writes a new dataset directory' });
      await out.releaseReserve();
      const encoder = ParquetEncoder.create({ workers: 1 });
      try {
        const report = await compactDataset(
          dirs,
          flags.out,
          { rowsPerFile: flags.rowsPerFile ?? 100_000, dedupe, command: ['astro-stream', ...process.argv.slice(2)].join(' ') },
          { encoder, clock: Date.now },
        );
        process.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : formatCompactReport(report));
      } finally {
        await encoder.close();
      }
    });
  return dataset;
}
