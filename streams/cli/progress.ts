/** What a progress line shows. */
export interface ProgressSnapshot {
  readonly label: string;
  readonly done: number;
  readonly total: number;
  /** Extra `name value` pairs after the bar. */
  readonly details: readonly (readonly [string, string | number])[];
}

export interface ProgressReporter {
  stop(): void;
}

export interface ProgressOptions {
  readonly stream: NodeJS.WriteStream;
  readonly snapshot: () => ProgressSnapshot;
  /** Redraw period on a TTY (ms). */
  readonly ttyIntervalMs?: number;
  /** Plain-line period when not a TTY (logs, CI) (ms). */
  readonly lineIntervalMs?: number;
  readonly clock?: () => number;
}

/** Renders one progress line: `search [######------] 5/12  trees 5  traces 14  1.2/s  eta 6s`. */
export function renderProgress(s: ProgressSnapshot, elapsedMs: number, width = 24): string {
  const fraction = s.total > 0 ? Math.min(1, s.done / s.total) : 0;
  const filled = Math.round(fraction * width);
  const rate = elapsedMs > 0 ? (s.done * 1000) / elapsedMs : 0;
  const eta = rate > 0 && s.total > s.done ? `  eta ${Math.ceil((s.total - s.done) / rate)}s` : '';
  const details = s.details.map(([k, v]) => `  ${k} ${v}`).join('');
  return `${s.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${s.done}/${s.total}${details}  ${rate.toFixed(2)}/s${eta}`;
}

/** A progress bar on a TTY (redrawn in place), plain periodic lines otherwise. */
export function startProgress(options: ProgressOptions): ProgressReporter {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const tty = options.stream.isTTY === true;
  const draw = (): void => {
    const line = renderProgress(options.snapshot(), clock() - started);
    options.stream.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  const timer = setInterval(draw, tty ? (options.ttyIntervalMs ?? 200) : (options.lineIntervalMs ?? 5000));
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      draw();
      if (tty) options.stream.write('\n');
    },
  };
}
