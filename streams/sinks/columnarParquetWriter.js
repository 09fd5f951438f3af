// Writes one Parquet file from column chunks packed by RowPacker (parquetWire.ts). Plain ESM
// JavaScript because the encoding worker imports it from src (tests) and dist (production).
//
// Fast columns arrive as PLAIN page bytes (u32 length + UTF-8, or INT32s) with their Dremel levels, so
// a data page is: page header, RLE levels, snappy(subarray of the received bytes). No per-value
// objects, no UTF-8 pass, no byte-writer growth per value. Every other column goes through
// hyparquet-writer's own column writer (dictionary trial, statistics), and hyparquet-writer's
// thrift code writes page headers, page indexes and the footer, so the file layout is theirs.
import { ByteWriter } from 'hyparquet-writer';
import { writeColumn } from 'hyparquet-writer/src/column.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { encodeNestedValues } from 'hyparquet-writer/src/dremel.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { writeIndexes } from 'hyparquet-writer/src/indexes.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { schemaPathResolver } from 'hyparquet-writer/src/schema.js';

// hyparquet-writer's default page size: large enough that headers and levels are noise, small
// enough for readers that load a page at a time.
const PAGE_BYTES = 1 << 20;

/**
 * @typedef {{ bytes: Uint8Array, def?: Uint8Array, rep?: Uint8Array, levels: number }} WireTextLeaf
 * @typedef {{ values: unknown[] } | { leaves: WireTextLeaf[] }} WireColumn
 * @typedef {{ name: string, fast: boolean, leaves?: { type: string, path: string[], maxDef: number, maxRep: number }[] }} ColumnPlan
 */

/**
 * Writes a complete Parquet file into `writer` (reset first, so one writer can be reused).
 *
 * @param {object} options
 * @param {ByteWriter} options.writer
 * @param {import('hyparquet').SchemaElement[]} options.schema
 * @param {ColumnPlan[]} options.plan top-level columns in schema order
 * @param {Record<string, { encoding?: string, statistics?: boolean }>} options.columnOptions hyparquet-writer options of value columns
 * @param {{ rows: number, columns: WireColumn[] }[]} options.chunks row chunks in order; a row group never splits a chunk
 * @param {number} options.rowGroupRows
 * @param {string} options.codec
 * @param {Record<string, (input: Uint8Array) => Uint8Array>} options.compressors
 * @param {{ key: string, value: string }[] | undefined} options.kvMetadata
 * @param {string} options.createdBy
 */
export function writeColumnarParquet({ writer, schema, plan, columnOptions, chunks: allChunks, rowGroupRows, codec, compressors, kvMetadata, createdBy }) {
  writer.index = 0;
  writer.offset = 0;
  writer.appendUint32(0x31524150); // PAR1
  const compress = codec === 'UNCOMPRESSED' ? undefined : compressors[codec];
  if (codec !== 'UNCOMPRESSED' && !compress) throw new Error(`parquet no compressor for codec ${codec}`);
  const resolve = schemaPathResolver(schema);
  // An empty file has no row groups, as hyparquet-writer writes it.
  const chunks = allChunks.filter((chunk) => chunk.rows > 0);
  const rowGroups = [];
  const indexes = [];
  let numRows = 0;
  for (let c = 0; c < chunks.length; ) {
    // Chunks up to rowGroupRows rows form one row group (the sender cuts chunks at group boundaries).
    let end = c;
    let rows = 0;
    while (end < chunks.length && (end === c || rows + chunks[end].rows <= rowGroupRows)) rows += chunks[end++].rows;
    const group = chunks.slice(c, end);
    c = end;
    const groupStart = writer.offset;
    const columns = [];
    for (let j = 0; j < plan.length; j++) {
      const column = plan[j];
      const path = resolve([column.name]);
      if (column.fast) {
        for (let l = 0; l < column.leaves.length; l++) {
          const leafPath = column.leaves[l].path;
          const element = resolve(leafPath).at(-1).element;
          const result = writeTextLeaf(writer, column.leaves[l], element, group.map((g) => g.columns[j].leaves[l]), codec, compress);
          columns.push(result.chunk);
          indexes.push(result);
        }
        continue;
      }
      const values = group.length === 1 ? group[0].columns[j].values : group.flatMap((g) => g.columns[j].values);
      for (const leafPath of leafPaths(path)) {
        const schemaPath = leafPath.map((node) => node.element);
        const result = writeColumn({
          writer,
          column: {
            columnName: schemaPath.slice(1).map((s) => s.name).join('.'),
            element: schemaPath[schemaPath.length - 1],
            schemaPath,
            codec,
            compressors,
            stats: columnOptions[column.name]?.statistics ?? true,
            pageSize: PAGE_BYTES,
            columnIndex: false,
            offsetIndex: true,
            encoding: columnOptions[column.name]?.encoding,
          },
          pageData: encodeNestedValues(leafPath, values),
        });
        columns.push(result.chunk);
        indexes.push(result);
      }
    }
    let totalByteSize = 0n;
    for (const { meta_data } of columns) totalByteSize += meta_data?.total_uncompressed_size ?? 0n;
    numRows += rows;
    rowGroups.push({ columns, total_byte_size: totalByteSize, num_rows: BigInt(rows), total_compressed_size: BigInt(writer.offset - groupStart) });
  }
  writeIndexes(writer, indexes);
  writeMetadata(writer, { version: 2, created_by: createdBy, schema, num_rows: BigInt(numRows), row_groups: rowGroups, key_value_metadata: kvMetadata });
  writer.appendUint32(0x31524150); // PAR1
}

/** @param {import('hyparquet').SchemaTree[]} path */
function leafPaths(path) {
  const node = path[path.length - 1];
  if (!node.children.length) return [path];
  return node.children.flatMap((child) => leafPaths([...path, child]));
}

// Levels of one page, written before its header (the header needs their byte lengths).
const levelWriter = new ByteWriter(1 << 16);

/**
 * Writes one packed leaf as PLAIN data pages v2 (same page type as hyparquet-writer).
 *
 * @param {ByteWriter} writer
 * @param {{ type: string, path: string[], maxDef: number, maxRep: number }} leaf
 * @param {import('hyparquet').SchemaElement} element
 * @param {WireTextLeaf[]} parts one per chunk of the row group; a page never spans two
 * @param {string} codec
 * @param {((input: Uint8Array) => Uint8Array) | undefined} compress
 */
function writeTextLeaf(writer, leaf, element, parts, codec, compress) {
  const { maxDef, maxRep } = leaf;
  // INT32 values are 4 bytes each; BYTE_ARRAY values carry a u32 length prefix.
  const fixed = leaf.type === 'INT32';
  const defWidth = maxDef ? 32 - Math.clz32(maxDef) : 0;
  const repWidth = maxRep ? 32 - Math.clz32(maxRep) : 0;
  const offsetStart = writer.offset;
  const pages = [];
  let uncompressed = 0;
  let numValues = 0;
  let firstRow = 0;
  for (const part of parts) {
    const { bytes, def, rep, levels } = part;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let level = 0;
    let pos = 0;
    while (level < levels) {
      // Extend the page value by value until it holds PAGE_BYTES, then to the next row start.
      const pageLevel = level;
      const pagePos = pos;
      let nulls = 0;
      let rows = 0;
      for (; level < levels; level++) {
        const isRowStart = !rep || rep[level] === 0;
        if (isRowStart) {
          if (pos - pagePos >= PAGE_BYTES) break;
          rows++;
        }
        if (!def || def[level] === maxDef) pos += fixed ? 4 : 4 + view.getUint32(pos, true);
        else nulls++;
      }
      levelWriter.index = 0;
      levelWriter.offset = 0;
      const repLength = rep ? writeRleBitPackedHybrid(levelWriter, rep.subarray(pageLevel, level), repWidth) : 0;
      const defLength = def ? writeRleBitPackedHybrid(levelWriter, def.subarray(pageLevel, level), defWidth) : 0;
      const data = bytes.subarray(pagePos, pos);
      // A compressor may return a view into a buffer it reuses: copy it out before the next call.
      const stored = compress ? compress(data) : data;
      const pageOffset = writer.offset;
      writePageHeader(writer, {
        type: 'DATA_PAGE_V2',
        uncompressed_page_size: levelWriter.offset + data.length,
        compressed_page_size: levelWriter.offset + stored.length,
        data_page_header_v2: {
          num_values: level - pageLevel,
          num_nulls: nulls,
          num_rows: rows,
          encoding: 'PLAIN',
          definition_levels_byte_length: defLength,
          repetition_levels_byte_length: repLength,
          is_compressed: codec !== 'UNCOMPRESSED',
        },
      });
      uncompressed += writer.offset - pageOffset + levelWriter.offset + data.length;
      writer.appendBytes(levelWriter.getBytes());
      writer.appendBytes(stored);
      pages.push({ offset: BigInt(pageOffset), compressed_page_size: writer.offset - pageOffset, first_row_index: BigInt(firstRow) });
      firstRow += rows;
      numValues += level - pageLevel;
    }
  }
  return {
    chunk: {
      meta_data: {
        type: element.type,
        encodings: ['PLAIN'],
        path_in_schema: leaf.path,
        codec,
        num_values: BigInt(numValues),
        total_compressed_size: BigInt(writer.offset - offsetStart),
        total_uncompressed_size: BigInt(uncompressed),
        data_page_offset: BigInt(offsetStart),
      },
      file_offset: BigInt(offsetStart),
    },
    // Same rule as hyparquet-writer: an offset index only when there is more than one page.
    offsetIndex: pages.length > 1 ? { page_locations: pages } : undefined,
  };
}
