import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Admin } from '@platformatic/kafka';
import { AppError } from '../../../operators/common/errors.js';
import { freeLoopbackPorts, isAlive, killAndWait } from '../../common/localProcesses.js';
import { clusterIdFromBytes, portsFromBase, renderServerProperties } from './serverProperties.js';
import type { NodePorts } from './serverProperties.js';

const execFileAsync = promisify(execFile);

/** Options of {@link startLocalKafka}. */
export interface LocalKafkaOptions {
  /** 1 = single broker; 3 = replication factor 3, min ISR 2. */
  readonly nodes: 1 | 3;
  /** First port (node i: broker base+2(i-1), controller base+2(i-1)+1). Default: free ports. */
  readonly basePort?: number;
  /** Where configs, data, logs and pid files live (`<dir>/node-<id>/`). */
  readonly dir: string;
  /** JVM heap per node in MiB (-Xms = -Xmx). Default 512. */
  readonly heapMb?: number;
  /** Repository root (holds `deploy/kafka/` and `.kafka/libs`). Default: found from this module. */
  readonly repoRoot?: string;
  /** Give up waiting for readiness after this long. Default 120 s (JVMs start slowly on a loaded 2-core box). */
  readonly readyTimeoutMs?: number;
  /** Start the JVMs in their own session so they outlive this process (`kafka up`). Default false. */
  readonly detached?: boolean;
  /** Wipe data from a previous run in `dir` instead of reusing it. Default false. */
  readonly fresh?: boolean;
}

/** One running (or stopped) node; `pid` changes when the node is restarted. */
export interface LocalKafkaNode {
  readonly id: number;
  readonly port: number;
  readonly controllerPort: number;
  /** Pid of the java process, or 0 while the node is stopped. */
  readonly pid: number;
}

/** A local KRaft cluster started from the Maven Central jars with the machine's JDK. */
export interface LocalKafka {
  /** Client bootstrap list, e.g. `127.0.0.1:41234,127.0.0.1:41236`. */
  readonly bootstrap: string;
  readonly nodes: readonly LocalKafkaNode[];
  readonly dir: string;
  readonly clusterId: string;
  /** Measured on this start: storage format and spawn-to-ready wall time, in ms. */
  readonly timings: { readonly formatMs: number; readonly startMs: number };
  /** SIGTERM (graceful, SIGKILL after 30 s) or SIGKILL (crash) one node and wait for it to exit. */
  stopNode(id: number, signal?: NodeJS.Signals): Promise<void>;
  /** Restart a stopped node and wait until the cluster lists it again. */
  startNode(id: number): Promise<void>;
  /** Stop every node (SIGTERM, then SIGKILL after 30 s). */
  stop(): Promise<void>;
}

interface ClusterState {
  readonly clusterId: string;
  readonly nodes: readonly NodePorts[];
}

const STATE_FILE = 'cluster.json';

/**
 * The repository root: the first ancestor of `from` holding `deploy/kafka/pom.xml`. Walking up
 * (rather than a fixed `../../..`) works from the sources and from `dist/`, one level deeper.
 */
export function findRepoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'deploy', 'kafka', 'pom.xml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new AppError('config', `deploy/kafka/pom.xml not found above ${from}`);
    dir = parent;
  }
}

/**
 * Makes sure the broker jars are in `<repoRoot>/.kafka/libs`, running Maven only when the
 * kafka_2.13 jar is missing (idempotent, so every `kafka up` and test can call it). Returns the libs dir.
 */
export async function ensureKafkaJars(repoRoot: string): Promise<string> {
  const libs = join(repoRoot, '.kafka', 'libs');
  if (hasKafkaJar(libs)) return libs;
  try {
    await execFileAsync(
      'mvn',
      ['-B', '-q', '-f', join(repoRoot, 'deploy', 'kafka', 'pom.xml'), 'dependency:copy-dependencies',
        '-DincludeScope=runtime', `-DoutputDirectory=${libs}`, '-Dmdep.prependGroupId=true'],
      { cwd: repoRoot, maxBuffer: 32 * 1024 * 1024 },
    );
  } catch (error) {
    const out = error instanceof Error && 'stdout' in error ? String((error as { stdout: unknown }).stdout).slice(-2000) : '';
    throw new AppError('config', `mvn could not fetch the Kafka jars into ${libs}: ${String(error)}\n${out}`, { cause: error });
  }
  if (!hasKafkaJar(libs)) throw new AppError('config', `mvn ran but no kafka_2.13 jar is in ${libs}`);
  return libs;
}

function hasKafkaJar(libs: string): boolean {
  return existsSync(libs) && readdirSync(libs).some((f) => /kafka_2\.13-.*\.jar$/.test(f));
}

/**
 * Starts a local Kafka cluster (KRaft, combined broker+controller nodes on 127.0.0.1) and resolves
 * once every node accepts connections and the cluster metadata lists all of them. A stale JVM left
 * by a previous run in the same `dir` is killed first; its data is reused unless `fresh` (or the
 * node count/ports changed). Fails fast, with the log tail, if a JVM exits during startup.
 */
export async function startLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const dir = resolve(options.dir);
  const repoRoot = options.repoRoot ?? findRepoRoot();
  const libs = await ensureKafkaJars(repoRoot);
  const log4j = join(repoRoot, 'deploy', 'kafka', 'log4j2.properties');
  const heapMb = options.heapMb ?? 512;
  mkdirSync(dir, { recursive: true });
  await stopLocalKafka(dir);

  const state = await planCluster(dir, options);
  await assertPortsFree(state.nodes);
  writeFileSync(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  for (const node of state.nodes) {
    const nodeDir = join(dir, `node-${node.id}`);
    mkdirSync(join(nodeDir, 'data'), { recursive: true });
    writeFileSync(join(nodeDir, 'server.properties'), renderServerProperties(node, state.nodes, join(nodeDir, 'data')));
  }

  const formatStart = performance.now();
  await Promise.all(state.nodes.map((n) => formatNode(join(dir, `node-${n.id}`), state.clusterId, libs, log4j)));
  const formatMs = performance.now() - formatStart;

  const pids = new Map<number, number>();
  const launch = (id: number): number => {
    const pid = spawnNode(join(dir, `node-${id}`), libs, log4j, heapMb, options.detached ?? false);
    pids.set(id, pid);
    return pid;
  };
  const bootstrap = state.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  const timeoutMs = options.readyTimeoutMs ?? 120_000;

  const startStart = performance.now();
  for (const n of state.nodes) launch(n.id);
  try {
    await waitReady(dir, state.nodes, pids, bootstrap, timeoutMs);
  } catch (error) {
    await stopLocalKafka(dir);
    throw error;
  }
  const startMs = performance.now() - startStart;

  const nodes: LocalKafkaNode[] = state.nodes.map((n) => ({
    id: n.id,
    port: n.port,
    controllerPort: n.controllerPort,
    get pid() {
      return pids.get(n.id) ?? 0;
    },
  }));
  const portsOf = (id: number): NodePorts => {
    const n = state.nodes.find((x) => x.id === id);
    if (n === undefined) throw new AppError('config', `no node ${id} in ${dir}`);
    return n;
  };

  return {
    bootstrap,
    nodes,
    dir,
    clusterId: state.clusterId,
    timings: { formatMs, startMs },
    async stopNode(id, signal = 'SIGTERM') {
      portsOf(id);
      const pid = pids.get(id) ?? 0;
      if (pid > 0) await killAndWait(pid, signal);
      pids.set(id, 0);
      rmSync(join(dir, `node-${id}`, 'kafka.pid'), { force: true });
    },
    async startNode(id) {
      const node = portsOf(id);
      if ((pids.get(id) ?? 0) > 0 && isAlive(pids.get(id) ?? 0)) return;
      launch(id);
      const running = state.nodes.filter((n) => (pids.get(n.id) ?? 0) > 0);
      await waitReady(dir, [node], pids, bootstrap, timeoutMs, running.map((n) => n.id));
    },
    async stop() {
      await stopLocalKafka(dir);
      for (const id of pids.keys()) pids.set(id, 0);
    },
  };
}

/**
 * Stops every node started in `dir` by its pid file: SIGTERM, up to 30 s for a clean shutdown,
 * then SIGKILL. Pids that are no longer our Kafka JVM (exited, or reused by another process) are
 * left alone. Safe to call when nothing runs.
 */
export async function stopLocalKafka(dir: string): Promise<void> {
  const root = resolve(dir);
  if (!existsSync(root)) return;
  const nodeDirs = readdirSync(root).filter((d) => /^node-\d+$/.test(d)).map((d) => join(root, d));
  await Promise.all(
    nodeDirs.map(async (nodeDir) => {
      const pidFile = join(nodeDir, 'kafka.pid');
      if (!existsSync(pidFile)) return;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && isOurKafka(pid, nodeDir)) await killAndWait(pid, 'SIGTERM');
      rmSync(pidFile, { force: true });
    }),
  );
}

/** What {@link localKafkaStatus} reports about a cluster directory. */
export interface LocalKafkaStatus {
  readonly bootstrap: string;
  readonly clusterId: string;
  /** Every node of the plan with its live pid, or 0 when its JVM is not running. */
  readonly nodes: readonly LocalKafkaNode[];
  /** True when every node's JVM is running. */
  readonly running: boolean;
}

/**
 * The cluster last started in `dir` (from its `cluster.json` and pid files), or null if none was.
 * Lets `kafka up` return the running cluster instead of restarting it.
 */
export function localKafkaStatus(dir: string): LocalKafkaStatus | null {
  const root = resolve(dir);
  const state = readState(root);
  if (state === null) return null;
  const nodes = state.nodes.map((n) => {
    const nodeDir = join(root, `node-${n.id}`);
    let pid = 0;
    try {
      pid = Number(readFileSync(join(nodeDir, 'kafka.pid'), 'utf8').trim());
    } catch {
      pid = 0;
    }
    return { id: n.id, port: n.port, controllerPort: n.controllerPort, pid: pid > 0 && isOurKafka(pid, nodeDir) ? pid : 0 };
  });
  return {
    bootstrap: state.nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    clusterId: state.clusterId,
    nodes,
    running: nodes.every((n) => n.pid > 0),
  };
}

/** Resident set size of a process in bytes (Linux /proc), or null if unknown. */
export function processRssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

async function planCluster(dir: string, options: LocalKafkaOptions): Promise<ClusterState> {
  const previous = readState(dir);
  const reusable =
    previous !== null &&
    options.fresh !== true &&
    previous.nodes.length === options.nodes &&
    (options.basePort === undefined || previous.nodes[0]?.port === options.basePort);
  if (reusable) return previous;
  for (const d of readdirSync(dir)) if (/^node-\d+$/.test(d)) rmSync(join(dir, d), { recursive: true, force: true });
  const nodes = options.basePort === undefined ? await freePorts(options.nodes) : portsFromBase(options.nodes, options.basePort);
  return { clusterId: newClusterId(), nodes };
}

function readState(dir: string): ClusterState | null {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as ClusterState;
    return typeof parsed.clusterId === 'string' && Array.isArray(parsed.nodes) ? parsed : null;
  } catch {
    return null;
  }
}

function newClusterId(): string {
  for (;;) {
    const id = clusterIdFromBytes(randomBytes(16));
    if (id !== null) return id;
  }
}

/** 2·count free loopback ports: a listener and a controller port per node. */
async function freePorts(count: number): Promise<NodePorts[]> {
  const ports = await freeLoopbackPorts(count * 2);
  return Array.from({ length: count }, (_, i) => ({ id: i + 1, port: ports[2 * i] ?? 0, controllerPort: ports[2 * i + 1] ?? 0 }));
}

async function formatNode(nodeDir: string, clusterId: string, libs: string, log4j: string): Promise<void> {
  try {
    await execFileAsync('java', [
      '-Xmx256m', `-Dlog4j2.configurationFile=${log4j}`, '-cp', `${libs}/*`,
      'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', join(nodeDir, 'server.properties'), '--ignore-formatted',
    ], { maxBuffer: 8 * 1024 * 1024 });
  } catch (error) {
    throw new AppError('config', `formatting ${nodeDir} failed: ${String(error)}`, { cause: error });
  }
}

function spawnNode(nodeDir: string, libs: string, log4j: string, heapMb: number, detached: boolean): number {
  // The broker writes to a file: an unread pipe fills up and blocks the JVM.
  const fd = openSync(join(nodeDir, 'kafka.log'), 'a');
  try {
    const child = spawn('java', [
      `-Xms${heapMb}m`, `-Xmx${heapMb}m`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4j}`, '-cp', `${libs}/*`, 'kafka.Kafka', join(nodeDir, 'server.properties'),
    ], { cwd: nodeDir, stdio: ['ignore', fd, fd], detached });
    // Swallow spawn errors here; readiness polling sees the dead pid and reports the log tail.
    child.on('error', () => undefined);
    child.unref();
    const pid = child.pid ?? 0;
    if (pid === 0) throw new AppError('config', 'could not spawn java (is a JDK 17 on PATH?)');
    writeFileSync(join(nodeDir, 'kafka.pid'), `${pid}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

async function waitReady(
  dir: string,
  waitFor: readonly NodePorts[],
  pids: ReadonlyMap<number, number>,
  bootstrap: string,
  timeoutMs: number,
  expectedIds: readonly number[] = waitFor.map((n) => n.id),
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const checkAlive = (): void => {
    for (const n of waitFor) {
      const pid = pids.get(n.id) ?? 0;
      if (!isAlive(pid)) throw new AppError('transport', `kafka node ${n.id} exited during startup:\n${logTail(join(dir, `node-${n.id}`))}`);
    }
  };
  const pending = new Set(waitFor.map((n) => n.id));
  // Kafka opens the client port only once the broker is unfenced: a successful connect means ready.
  while (pending.size > 0) {
    checkAlive();
    for (const n of waitFor) if (pending.has(n.id) && (await canConnect(n.port))) pending.delete(n.id);
    if (pending.size === 0) break;
    if (performance.now() > deadline) throw timeoutError(dir, waitFor, timeoutMs);
    await sleep(100);
  }
  const admin = new Admin({ clientId: 'astro-stream-ready', bootstrapBrokers: bootstrap.split(','), retries: 3, retryDelay: 200 });
  // Something else listening on the port also accepts connections, then never answers: keep
  // watching the JVMs while the client waits so such a start fails in seconds, not at timeout.
  let watcher: NodeJS.Timeout | undefined;
  const died = new Promise<never>((_, ko) => {
    watcher = setInterval(() => {
      try {
        checkAlive();
      } catch (error) {
        ko(error);
      }
    }, 200);
  });
  died.catch(() => undefined);
  const guarded = <T>(p: Promise<T>): Promise<T> => Promise.race([p, died]);
  try {
    for (;;) {
      checkAlive();
      const seen = new Set((await guarded(admin.metadata({ topics: [], forceUpdate: true }))).brokers.keys());
      if (expectedIds.every((id) => seen.has(id))) return;
      if (performance.now() > deadline) throw timeoutError(dir, waitFor, timeoutMs);
      await sleep(200);
    }
  } finally {
    clearInterval(watcher);
    await admin.close().catch(() => undefined);
  }
}

/** Fails at once, naming the port, when a port of the plan is already taken. */
async function assertPortsFree(nodes: readonly NodePorts[]): Promise<void> {
  for (const n of nodes) {
    for (const port of [n.port, n.controllerPort]) {
      const free = await new Promise<boolean>((ok) => {
        const s = createServer();
        s.once('error', () => ok(false));
        s.listen(port, '127.0.0.1', () => s.close(() => ok(true)));
      });
      if (!free) throw new AppError('config', `port ${port} (node ${n.id}) is already in use on 127.0.0.1`);
    }
  }
}

function timeoutError(dir: string, nodes: readonly NodePorts[], timeoutMs: number): AppError {
  const tails = nodes.map((n) => `node ${n.id}:\n${logTail(join(dir, `node-${n.id}`))}`).join('\n');
  return new AppError('timeout', `kafka not ready after ${timeoutMs} ms\n${tails}`, { retriable: true });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = new Socket();
    const done = (result: boolean): void => {
      socket.destroy();
      ok(result);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

function logTail(nodeDir: string, lines = 30): string {
  try {
    return readFileSync(join(nodeDir, 'kafka.log'), 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Guards against killing an unrelated process that reused a stale pid. */
function isOurKafka(pid: number, nodeDir: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(join(nodeDir, 'server.properties'));
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}
