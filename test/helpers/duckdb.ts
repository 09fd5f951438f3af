import { DuckDBInstance } from '@duckdb/node-api';

/** Runs one query in a fresh in-memory DuckDB and returns plain row objects. */
export async function duckdbRows(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}
