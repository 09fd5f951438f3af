"""pyarrow baseline for bench/parquetSink.ts: writes the same trace rows with the same codec and
batch size, timing only the Parquet write (rows are loaded and turned into Arrow tables first).

usage: python3 bench/parquet_pyarrow.py ROWS.json OUT_DIR CODEC BATCH_ROWS
prints one JSON line: {"rows", "bytes", "write_s", "build_s", "write_cpu_s", "build_cpu_s", "durable_s", "files"}
(`*_cpu_s`: this process's CPU time, which other processes' load on a shared machine disturbs less;
`durable_s`: the same files written again the way our sink writes them, to a temp name, fsynced,
renamed and the directory fsynced, so the sink has a like-for-like figure too)
"""
import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([
    ("trace_id", pa.string()), ("tree_id", pa.string()), ("problem_id", pa.string()),
    ("domain", pa.string()), ("source", pa.string()), ("problem_json", pa.string()),
    ("prompt", pa.string()), ("completion", pa.string()),
    ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("answer", pa.string()), ("correct", pa.bool_()), ("variant", pa.string()),
    ("k", pa.int32()), ("num_backtracks", pa.int32()), ("num_reflections", pa.int32()),
    ("node_path", pa.list_(pa.int32())),
    ("policy_version", pa.string()), ("linearizer", pa.string()),
    ("linearizer_config_hash", pa.string()), ("verifier", pa.string()),
    ("created_at", pa.timestamp("ms", tz="UTC")),
])


def main() -> None:
    rows_path, out_dir, codec, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(rows_path, encoding="utf-8") as f:
        rows = json.load(f)
    started = time.perf_counter()
    cpu = time.process_time()
    tables = [pa.Table.from_pylist(rows[i:i + batch], schema=SCHEMA) for i in range(0, len(rows), batch)]
    build_s = time.perf_counter() - started
    build_cpu_s = time.process_time() - cpu
    os.makedirs(out_dir, exist_ok=True)
    total = 0
    started = time.perf_counter()
    cpu = time.process_time()
    for i, table in enumerate(tables):
        path = os.path.join(out_dir, f"part-{i:06d}.parquet")
        pq.write_table(table, path, compression=codec)
        total += os.path.getsize(path)
    write_s = time.perf_counter() - started
    write_cpu_s = time.process_time() - cpu
    started = time.perf_counter()
    for i, table in enumerate(tables):
        path = os.path.join(out_dir, f"durable-{i:06d}.parquet")
        pq.write_table(table, path + ".tmp", compression=codec)
        fd = os.open(path + ".tmp", os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        os.rename(path + ".tmp", path)
        fd = os.open(out_dir, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    durable_s = time.perf_counter() - started
    print(json.dumps({"rows": len(rows), "bytes": total, "write_s": write_s, "build_s": build_s, "write_cpu_s": write_cpu_s, "build_cpu_s": build_cpu_s, "durable_s": durable_s, "files": len(tables)}))


if __name__ == "__main__":
    main()
