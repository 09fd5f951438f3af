import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync, lstatSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import { withDirLock } from './dirLock.js';

/**
 * The pinned llama.cpp: the source tree vendored in the `llama-cpp-python` source package on PyPI
 * (0.3.36 vendors ggml 0.25.3; its `gguf-py` is gguf 0.19.0, the version requirements-llm.txt pins).
 */
export const LLAMA_CPP_PYTHON_VERSION = '0.3.36';
const SDIST_URL = 'https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-0.3.36.tar.gz';
const SDIST_SHA256 = '832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e';

/**
 * CPU only, static, just the server: no tests, examples or unified app, no HTTPS (the server never
 * downloads models here), no web UI (building it needs npm, fetching it needs Hugging Face).
 */
export const LLAMA_CMAKE_FLAGS: readonly string[] = [
  '-DCMAKE_BUILD_TYPE=Release', '-DBUILD_SHARED_LIBS=OFF', '-DLLAMA_OPENSSL=OFF', '-DLLAMA_BUILD_TESTS=OFF',
  '-DLLAMA_BUILD_EXAMPLES=OFF', '-DLLAMA_BUILD_TOOLS=ON', '-DLLAMA_BUILD_SERVER=ON', '-DLLAMA_BUILD_APP=OFF',
  '-DLLAMA_BUILD_UI=OFF', '-DLLAMA_USE_PREBUILT_UI=OFF',
];

/** Where builds are cached and how to build. */
export interface LlamaBuildConfig {
  /** `${XDG_CACHE_HOME:-~/.cache}/astro-stream` (see {@link defaultCacheRoot}); builds go to `<root>/llama.cpp/<version>/`. */
  readonly cacheRoot: string;
  readonly version?: string;
  /** Parallel compile jobs (default: the machine's cores). */
  readonly jobs?: number;
  /** Python for the `pip download` fallback (default python3). */
  readonly python?: string;
}

/** Build progress, for a progress line. */
export interface LlamaBuildProgress {
  readonly phase: 'download' | 'extract' | 'configure' | 'compile' | 'wait' | 'done';
  /** Compile steps done and in all (ninja's `[done/total]`), when known. */
  readonly done?: number;
  readonly total?: number;
  readonly message: string;
}

/** What a finished build provides (every path absolute). */
export interface LlamaBuild {
  readonly version: string;
  /** `<cacheRoot>/llama.cpp/<version>`. */
  readonly dir: string;
  readonly server: string;
  /** The llama.cpp source tree: `convert_hf_to_gguf.py`, `gguf-py/`, `conversion/` (also linked from `dir`). */
  readonly sourceDir: string;
  /** True when this call compiled it; false when the cache had it. */
  readonly built: boolean;
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/astro-stream`: outside any checkout, shared by every run, test and CI job of a user on this machine. */
export function defaultCacheRoot(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env.HOME ?? '/tmp', '.cache');
  return join(base, 'astro-stream');
}

/** The build directory of a version and whether a finished build is in it (no lock, no work). */
export function cachedLlamaBuild(config: LlamaBuildConfig): LlamaBuild | null {
  const version = config.version ?? LLAMA_CPP_PYTHON_VERSION;
  const dir = join(config.cacheRoot, 'llama.cpp', version);
  const server = join(dir, 'bin', 'llama-server');
  if (!existsSync(join(dir, 'build-info.json')) || !existsSync(server)) return null;
  return { version, dir, server, sourceDir: join(dir, 'src'), built: false };
}

/**
 * Makes sure `llama-server` of the pinned version is built in the cache, building it when missing:
 * download the source package (checksum verified; `pip download` when the file host is
 * unreachable), extract its llama.cpp, configure with CMake, compile the server target only.
 * Concurrent callers (two `llm up`, parallel tests, CI) take a lock directory: one builds, the
 * others wait and reuse the result; a lock left by a dead process is taken over. An interrupted
 * build resumes where it stopped (the CMake build directory is kept).
 */
export async function ensureLlamaServer(config: LlamaBuildConfig, onProgress: (p: LlamaBuildProgress) => void = () => undefined): Promise<LlamaBuild> {
  const cached = cachedLlamaBuild(config);
  if (cached !== null) return cached;
  const version = config.version ?? LLAMA_CPP_PYTHON_VERSION;
  if (version !== LLAMA_CPP_PYTHON_VERSION) throw new AppError('config', `only llama-cpp-python ${LLAMA_CPP_PYTHON_VERSION} is pinned (its URL and checksum); got ${version}`);
  const dir = join(config.cacheRoot, 'llama.cpp', version);
  mkdirSync(dir, { recursive: true });
  return withDirLock(`${dir}.lock`, { onWait: (owner) => onProgress({ phase: 'wait', message: `another build holds ${dir}.lock (${owner}); waiting` }) }, async () => {
    const again = cachedLlamaBuild(config);
    if (again !== null) return again;
    const log = join(dir, 'build.log');
    const src = join(dir, 'src');
    if (!existsSync(join(src, '.extracted'))) {
      const sdist = await downloadSdist(dir, config.python ?? 'python3', onProgress);
      onProgress({ phase: 'extract', message: `extracting llama.cpp from ${sdist}` });
      rmSync(src, { recursive: true, force: true });
      const tmp = join(dir, '.extract');
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp);
      await run('tar', ['xzf', sdist, '-C', tmp, `llama_cpp_python-${version}/vendor/llama.cpp`], { log });
      renameSync(join(tmp, `llama_cpp_python-${version}`, 'vendor', 'llama.cpp'), src);
      rmSync(tmp, { recursive: true, force: true });
      // A git-submodule pointer to a repository that is not there: CMake would print "fatal: not a git repository".
      rmSync(join(src, '.git'), { force: true, recursive: true });
      writeFileSync(join(src, '.extracted'), `${SDIST_SHA256}\n`);
      rmSync(sdist, { force: true });
    }
    onProgress({ phase: 'configure', message: `cmake configure (${log})` });
    const generator = (await has('ninja')) ? ['-G', 'Ninja'] : [];
    await run('cmake', ['-S', src, '-B', join(dir, 'build'), ...generator, ...LLAMA_CMAKE_FLAGS], { log });
    const jobs = config.jobs ?? availableParallelism();
    await run('cmake', ['--build', join(dir, 'build'), '--target', 'llama-server', '-j', String(jobs)], {
      log,
      onLine: (line) => {
        const m = /^\[\s*(\d+)\s*\/\s*(\d+)\s*\]\s*(.*)$/.exec(line) ?? /^\[\s*(\d+)%\]\s*(.*)$/.exec(line);
        if (m === null) return;
        if (m.length === 4) onProgress({ phase: 'compile', done: Number(m[1]), total: Number(m[2]), message: m[3] ?? '' });
        else onProgress({ phase: 'compile', done: Number(m[1]), total: 100, message: m[2] ?? '' });
      },
    });
    const built = join(dir, 'build', 'bin', 'llama-server');
    if (!existsSync(built)) throw new AppError('internal', `the build finished but ${built} is missing; see ${log}`);
    mkdirSync(join(dir, 'bin'), { recursive: true });
    const server = join(dir, 'bin', 'llama-server');
    copyFileSync(built, `${server}.tmp`);
    chmodSync(`${server}.tmp`, 0o755);
    renameSync(`${server}.tmp`, server);
    linkTools(dir);
    writeFileSync(join(dir, 'README.txt'), readme(version, dir));
    // Written last: its presence is what marks the build complete.
    writeFileSync(join(dir, 'build-info.json.tmp'), `${JSON.stringify({ version, sdist_sha256: SDIST_SHA256, cmake_flags: LLAMA_CMAKE_FLAGS, built_at: new Date().toISOString(), host: hostname() }, null, 2)}\n`);
    renameSync(join(dir, 'build-info.json.tmp'), join(dir, 'build-info.json'));
    onProgress({ phase: 'done', message: `built ${server}` });
    return { version, dir, server, sourceDir: src, built: true };
  });
}

async function downloadSdist(dir: string, python: string, onProgress: (p: LlamaBuildProgress) => void): Promise<string> {
  const file = join(dir, `llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}.tar.gz`);
  if (existsSync(file) && sha256(file) === SDIST_SHA256) return file;
  onProgress({ phase: 'download', message: `downloading llama-cpp-python ${LLAMA_CPP_PYTHON_VERSION} source package (76 MB)` });
  try {
    const response = await fetch(SDIST_URL);
    if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
    const out = createWriteStream(`${file}.part`);
    let bytes = 0;
    let reported = 0;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((ok) => out.once('drain', () => ok()));
      if (bytes - reported > 8 * 1024 * 1024) {
        reported = bytes;
        onProgress({ phase: 'download', message: `${Math.round(bytes / 1024 / 1024)} MB` });
      }
    }
    await new Promise<void>((ok, ko) => out.end((error?: Error | null) => (error ? ko(error) : ok())));
    renameSync(`${file}.part`, file);
  } catch (error) {
    onProgress({ phase: 'download', message: `direct download failed (${(error as Error).message}); trying pip download` });
    await run(python, ['-m', 'pip', 'download', '--no-binary', ':all:', '--no-deps', '--no-build-isolation', `llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}`, '-d', dir], { log: join(dir, 'build.log') }).catch(() =>
      run(python, ['-m', 'pip', 'download', '--no-binary', ':all:', '--no-deps', `llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}`, '-d', dir], { log: join(dir, 'build.log') }),
    );
  }
  const actual = existsSync(file) ? sha256(file) : 'missing';
  if (actual !== SDIST_SHA256) throw new AppError('config', `llama-cpp-python ${LLAMA_CPP_PYTHON_VERSION} source package checksum mismatch: expected ${SDIST_SHA256}, got ${actual}`);
  return file;
}

/** Links the conversion tools next to `bin/`, so `python <dir>/convert_hf_to_gguf.py` works (it imports `gguf-py/` and `conversion/` beside itself). */
function linkTools(dir: string): void {
  for (const name of ['convert_hf_to_gguf.py', 'gguf-py', 'conversion', 'requirements']) {
    const link = join(dir, name);
    try {
      lstatSync(link);
      rmSync(link, { recursive: true, force: true });
    } catch {
      // absent: nothing to replace
    }
    if (existsSync(join(dir, 'src', name))) symlinkSync(join('src', name), link);
  }
}

function readme(version: string, dir: string): string {
  return [
    `llama.cpp from the llama-cpp-python ${version} source package (PyPI), built by astro-stream (\`astro-stream llm build\`).`,
    '',
    `bin/llama-server          the OpenAI-compatible server (CPU, static; \`astro-stream llm up\` starts it)`,
    `convert_hf_to_gguf.py     Hugging Face model directory -> GGUF (link into src/)`,
    `gguf-py/                  the gguf Python package of this llama.cpp (0.19.0), which convert_hf_to_gguf.py imports`,
    `conversion/               model-specific conversion code convert_hf_to_gguf.py imports`,
    `requirements/             Python requirements of the conversion scripts (torch, transformers, ...)`,
    `src/                      the whole llama.cpp source tree; build/ is the CMake build directory`,
    `build-info.json           version, source checksum, CMake flags; present only once the build is complete`,
    '',
    'Export a trained model and serve it:',
    `  python ${dir}/convert_hf_to_gguf.py MODEL_DIR --outfile model.gguf --outtype f16`,
    '  npx astro-stream llm up --model model.gguf',
    '',
  ].join('\n');
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function has(command: string): Promise<boolean> {
  return new Promise((ok) => {
    const child = spawn(command, ['--version'], { stdio: 'ignore' });
    child.on('error', () => ok(false));
    child.on('close', (code) => ok(code === 0));
  });
}

/** Runs a command, appending its output to `log`; a failure names the command and the log's tail. */
function run(command: string, args: readonly string[], options: { readonly log: string; readonly onLine?: (line: string) => void }): Promise<void> {
  return new Promise((ok, ko) => {
    const out = createWriteStream(options.log, { flags: 'a' });
    out.write(`\n$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let pending = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      out.write(text);
      tail = (tail + text).slice(-4000);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => {
      out.end();
      ko(new AppError('config', `cannot run ${command}: ${error.message} (is it installed?)`, { cause: error }));
    });
    child.on('close', (code) => {
      out.end();
      if (code === 0) ok();
      else ko(new AppError('internal', `${command} ${args.slice(0, 3).join(' ')} … exited with ${code}; log: ${options.log}\n${tail.split('\n').slice(-15).join('\n')}`));
    });
  });
}
