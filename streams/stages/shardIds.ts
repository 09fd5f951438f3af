import { readFile } from 'node:fs/promises';
import { parquetReadObjects } from 'hyparquet';
import { readIpcFile } from '../../schemas/arrow.js';

/** Reads one string column of a Parquet shard (only that column is decoded). */
export async function readParquetIds(path: string, column: string): Promise<string[]> {
  const bytes = await readFile(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = await parquetReadObjects({ file, columns: [column] });
  return rows.map((row) => String((row as Record<string, unknown>)[column]));
}

/** Reads one string column of an Arrow IPC shard. */
export async function readArrowIds(path: string, column: string): Promise<string[]> {
  const table = readIpcFile(new Uint8Array(await readFile(path)));
  const vector = table.getChild(column);
  if (vector === null) return [];
  const ids: string[] = [];
  for (let i = 0; i < vector.length; i++) ids.push(String(vector.get(i)));
  return ids;
}
