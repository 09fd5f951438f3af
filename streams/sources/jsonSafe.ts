/**
 * A Parquet cell (as hyparquet decodes it) as a JSON value, so a row can be mapped, hashed and
 * dead-lettered with `JSON.stringify`: INT64 (BigInt) becomes a number when it is a safe integer
 * and a decimal string otherwise; dates and timestamps become ISO-8601 strings; binary becomes a
 * string when it is UTF-8, else base64; maps become objects; lists and structs are converted
 * element by element; non-finite numbers become null.
 */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'string':
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      return String(value);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return bytesToText(value);
  if (value instanceof ArrayBuffer) return bytesToText(new Uint8Array(value));
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(jsonSafe(k)), jsonSafe(v)]));
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<unknown>, jsonSafe);
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, jsonSafe(v)]));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bytesToText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('base64');
  }
}
