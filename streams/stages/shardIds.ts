import { readFile } from 'node:fs/promises';
import { parquetReadObjects } from 'hyparquet';
import { readIpcFile } from '../../schemas/arrow.js';
import type { ShardIds } from './fileSinkStage.js';

/** Reads one string column of a Parquet shard (only that column is decoded). */
export async function readParquetIds(path: string, column: string): Promise<string[]> {
  const bytes = await readFile(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = await parquetReadObjects({ file, columns: [column] });
  return rows.map((row) => String((row as Record<string, unknown>)[column]));
}

/**
 * Reads the id column of an Arrow IPC shard and, when asked, a nullable string column naming each
 * row's origin (null where a row has none, or for every row when the file predates that column).
 */
export async function readArrowIds(path: string, column: string, originColumn?: string): Promise<ShardIds> {
  const table = readIpcFile(new Uint8Array(await readFile(path)));
  const vector = table.getChild(column);
  if (vector === null) return { ids: [] };
  const ids: string[] = [];
  for (let i = 0; i < vector.length; i++) ids.push(String(vector.get(i)));
  const originVector = originColumn === undefined ? null : table.getChild(originColumn);
  if (originVector === null) return { ids };
  const origins: (string | null)[] = [];
  for (let i = 0; i < originVector.length; i++) {
    const origin: unknown = originVector.get(i);
    origins.push(origin === null || origin === undefined ? null : String(origin));
  }
  return { ids, origins };
}
