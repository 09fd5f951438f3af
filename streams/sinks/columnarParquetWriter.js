// Writes one Parquet file from column chunks packed by RowPacker (parquetWire.ts). Plain ESM
// JavaScript because the encoding worker imports it from src (tests) and dist (production).
//
// Fast columns arrive as PLAIN page bytes (u32 length + UTF-8, or INT32s) with their Dremel levels, so
// a data page is: page header, RLE levels, snappy(subarray of the received bytes). No per-value
// objects, no UTF-8 pass, no byte-writer growth per value. `encodeChunkPages` turns a chunk's
// fast leaves into finished pages as soon as the chunk arrives, so the worker compresses while
// the sender is still packing the next chunks; `writeColumnarParquet` then only lays them out. Every other column goes through
// hyparquet-writer's own column writer (dictionary trial, statistics), and hyparquet-writer's
// thrift code writes page headers, page indexes and the footer, so the file layout is theirs.
// Kept over the maintained writers by measurement (issue #17, `node dist/bench/parquetSink.js`,
// same rows, SNAPPY, best of 5 interleaved rounds): the encoder with these pages made 15,764
// rows/s where hyparquet-writer's own writer made 6,149 (2.6x), parquet-wasm 0.8 7,702 with its
// Arrow build (23,566 writing an Arrow table it was handed), DuckDB 1.5 12,414 from JSON lines
// already on disk and 5,849 through its appender (26,938 for the COPY alone, from a table already
// loaded). An earlier run: 2,887 vs 639 / 562 / 1,437. BENCHMARKS.md "Parquet codecs" has the table.
import { gzipSync } from 'node:zlib';
import { ByteWriter } from 'hyparquet-writer';
import { compressSync } from 'snappy';
import { writeColumn } from 'hyparquet-writer/src/column.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { encodeNestedValues } from 'hyparquet-writer/src/dremel.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { writeIndexes } from 'hyparquet-writer/src/indexes.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { schemaPathResolver } from 'hyparquet-writer/src/schema.js';

/**
 * The page compressors of each codec. Each returns a buffer the caller owns: pages keep their
 * compressed bytes until the file is laid out.
 *
 * SNAPPY is the `snappy` package (napi-rs, Rust, prebuilt for each platform). It replaced our
 * hand-written JS compressor by measurement (issue #17, BENCHMARKS.md "Parquet codecs"): on the
 * same 1 MiB pages of trace text, CPU time, alternating rounds, 431 vs 245 MB/s (1.76x); the
 * encoder with it measured 0.35x pyarrow's CPU per row where ours made 0.26x, in the same run.
 *
 * @returns {Record<string, (input: Uint8Array) => Uint8Array>}
 */
export function createCompressors() {
  return {
    // copyOutputData: the output copied into a V8-owned Buffer. The default (an external buffer
    // over the Rust allocation, ~1.2 MB per page) made V8 collect garbage so often that the codec
    // measured 92-155 MB/s of CPU time on trace pages; with the copy 359-442 MB/s.
    SNAPPY: (input) => compressSync(input, { copyOutputData: true }),
    GZIP: (input) => gzipSync(input),
  };
}

// hyparquet-writer's default page size: large enough that headers and levels are noise, small
// enough for readers that load a page at a time.
const PAGE_BYTES = 1 << 20;

/**
 * @typedef {{ bytes: Uint8Array, def?: Uint8Array, rep?: Uint8Array, levels: number }} WirePackedLeaf
 * @typedef {{ values: unknown[] } | { leaves: readonly WirePackedLeaf[] }} WireColumn
 * @typedef {{ readonly type: string, readonly path: readonly string[], readonly maxDef: number, readonly maxRep: number }} LeafPlan
 * @typedef {{ readonly name: string, readonly fast: boolean, readonly leaves?: readonly LeafPlan[] }} ColumnPlan
 */

/**
 * Writes a complete Parquet file into `writer` (reset first, so one writer can be reused).
 *
 * @param {object} options
 * @param {ByteWriter} options.writer
 * @param {readonly import('hyparquet').SchemaElement[]} options.schema
 * @param {readonly ColumnPlan[]} options.plan top-level columns in schema order
 * @param {Record<string, { encoding?: string, statistics?: boolean }>} options.columnOptions hyparquet-writer options of value columns
 * @param {{ rows: number, columns: (WireColumn | { pages: EncodedPage[][] })[] }[]} options.chunks row chunks in order, fast
 *   columns already through `encodeChunkPages`; a row group never splits a chunk
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
  // hyparquet-writer's column writer would silently store pages uncompressed without one.
  if (codec !== 'UNCOMPRESSED' && !compressors[codec]) throw new Error(`parquet no compressor for codec ${codec}`);
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
          const result = writeLeafPages(writer, column.leaves[l], element, group.map((g) => g.columns[j].pages[l]), codec);
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

/**
 * A writer for one file of these chunks, sized for their finished pages plus `slack` for the value
 * columns and the footer, so laying the file out rarely grows (copies) it; the caller can hand
 * `writer.buffer` on as it is.
 *
 * @param {{ columns: ({ pages?: EncodedPage[][] } | object)[] }[]} chunks after `encodeChunkPages`
 * @param {number} [slack]
 */
export function fileWriterFor(chunks, slack = 1 << 20) {
  let bytes = 0;
  for (const chunk of chunks) {
    for (const column of chunk.columns) {
      if (!('pages' in column)) continue;
      for (const pages of column.pages) for (const page of pages) bytes += page.head.length + page.body.length;
    }
  }
  return new ByteWriter(bytes + slack);
}

/** @param {import('hyparquet').SchemaTree[]} path */
function leafPaths(path) {
  const node = path[path.length - 1];
  if (!node.children.length) return [path];
  return node.children.flatMap((child) => leafPaths([...path, child]));
}

// Scratch for one page's header and levels; the finished page is copied out of it.
const pageWriter = new ByteWriter(1 << 16);
const levelWriter = new ByteWriter(1 << 16);

/**
 * @typedef {{ head: Uint8Array, body: Uint8Array, rows: number, values: number, uncompressed: number }} EncodedPage
 *   a finished data page: `head` the page header and levels, `body` the (compressed) values, owned
 *   by the page; `values` counts level entries
 */

/**
 * Encodes the fast leaves of one received chunk into finished pages, in place: each fast column's
 * `leaves` (the transferred buffers, released afterwards) becomes `pages`, one page list per leaf.
 *
 * @param {readonly ColumnPlan[]} plan
 * @param {{ rows: number, columns: WireColumn[] }} chunk
 * @param {string} codec
 * @param {Record<string, (input: Uint8Array) => Uint8Array>} compressors
 */
export function encodeChunkPages(plan, chunk, codec, compressors) {
  const compress = codec === 'UNCOMPRESSED' ? undefined : compressors[codec];
  if (codec !== 'UNCOMPRESSED' && !compress) throw new Error(`parquet no compressor for codec ${codec}`);
  for (let j = 0; j < plan.length; j++) {
    const column = plan[j];
    if (!column.fast) continue;
    chunk.columns[j] = { pages: column.leaves.map((leaf, l) => encodeLeafPages(leaf, chunk.columns[j].leaves[l], codec, compress)) };
  }
}

/**
 * Splits one leaf of one chunk into PLAIN data pages v2 (hyparquet-writer's page type too) of
 * about PAGE_BYTES, each starting at a row.
 *
 * @param {{ type: string, maxDef: number, maxRep: number }} leaf
 * @param {WirePackedLeaf} part
 * @param {string} codec
 * @param {((input: Uint8Array) => Uint8Array) | undefined} compress
 * @returns {EncodedPage[]}
 */
function encodeLeafPages(leaf, part, codec, compress) {
  const { maxDef, maxRep } = leaf;
  // INT32 values are 4 bytes each; BYTE_ARRAY values carry a u32 length prefix.
  const fixed = leaf.type === 'INT32';
  const defWidth = maxDef ? 32 - Math.clz32(maxDef) : 0;
  const repWidth = maxRep ? 32 - Math.clz32(maxRep) : 0;
  const { bytes, def, rep, levels } = part;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pages = [];
  let level = 0;
  let pos = 0;
  while (level < levels) {
    // Extend the page value by value until it holds PAGE_BYTES, then to the next row start.
    const pageLevel = level;
    const pagePos = pos;
    let nulls = 0;
    let rows = 0;
    for (; level < levels; level++) {
      if (!rep || rep[level] === 0) {
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
    const stored = compress ? compress(data) : data;
    pageWriter.index = 0;
    pageWriter.offset = 0;
    writePageHeader(pageWriter, {
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
    // Header and levels (a few bytes) copied out of the scratch writers; the body kept as it is (the
    // compressor's fresh output, or a view of the transferred chunk) and copied once, into the file.
    const head = new Uint8Array(pageWriter.offset + levelWriter.offset);
    head.set(pageWriter.getBytes(), 0);
    head.set(levelWriter.getBytes(), pageWriter.offset);
    pages.push({ head, body: stored, rows, values: level - pageLevel, uncompressed: head.length + data.length });
  }
  return pages;
}

/**
 * Lays out one leaf's finished pages as a column chunk and returns its metadata.
 *
 * @param {ByteWriter} writer
 * @param {{ path: string[] }} leaf
 * @param {import('hyparquet').SchemaElement} element
 * @param {EncodedPage[][]} parts page lists of the row group's chunks, in order
 * @param {string} codec
 */
function writeLeafPages(writer, leaf, element, parts, codec) {
  const offsetStart = writer.offset;
  const locations = [];
  let uncompressed = 0;
  let numValues = 0;
  let firstRow = 0;
  for (const pages of parts) {
    for (const page of pages) {
      locations.push({ offset: BigInt(writer.offset), compressed_page_size: page.head.length + page.body.length, first_row_index: BigInt(firstRow) });
      writer.appendBytes(page.head);
      writer.appendBytes(page.body);
      firstRow += page.rows;
      numValues += page.values;
      uncompressed += page.uncompressed;
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
    offsetIndex: locations.length > 1 ? { page_locations: locations } : undefined,
  };
}
