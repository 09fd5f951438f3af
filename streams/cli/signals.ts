/** Exit code of a command stopped by SIGINT/SIGTERM (128 + SIGINT, what shells report for Ctrl-C). */
export const EXIT_INTERRUPTED = 130;

/** SIGINT/SIGTERM handling of a command that stops like a stage. */
export interface StopSignals {
  /** The first signal received, if any: the command should stop taking work. */
  received(): NodeJS.Signals | undefined;
  /** Resolves with the first signal. */
  readonly first: Promise<NodeJS.Signals>;
  /** Removes the handlers (the default behaviour comes back). */
  dispose(): void;
}

/** Options of {@link watchStopSignals}. */
export interface StopSignalOptions {
  /** Where the two notices go (default stderr). */
  readonly write?: (line: string) => void;
  /** What the first signal starts, in words, for the notice (e.g. "finishing in-flight work"). */
  readonly stopping?: string;
  /** Exits the process (default `process.exit`); injected for tests. */
  readonly exit?: (code: number) => void;
}

/**
 * Installs SIGINT/SIGTERM handlers from the first moment of a command: the first signal asks for a
 * graceful stop (the command polls `received()` or awaits `first`: stop taking work, finish or
 * abandon in-flight work, flush, write the manifest, exit 130); a second signal exits at once with
 * 130, for a user who will not wait.
 */
export function watchStopSignals(options: StopSignalOptions = {}): StopSignals {
  const write = options.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let signal: NodeJS.Signals | undefined;
  let resolveFirst!: (s: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((resolve) => (resolveFirst = resolve));
  const handler = (s: NodeJS.Signals): void => {
    if (signal !== undefined) {
      write(`astro-stream: second ${s}: exiting now; the last files may be missing from manifest.json (astro-stream dataset inspect --repair rebuilds it)`);
      exit(EXIT_INTERRUPTED);
      return;
    }
    signal = s;
    write(`astro-stream: ${s}: stopping (${options.stopping ?? 'finishing in-flight work, flushing, writing the manifest'}); send it again to exit at once`);
    resolveFirst(s);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    received: () => signal,
    first,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
