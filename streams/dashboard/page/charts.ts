import uPlot from 'uplot';

/** Series colours, in order; a series keeps its colour by name across updates. */
export const PALETTE = ['#3b6fd8', '#1f9d55', '#d64545', '#b58900', '#8e44ad', '#16a2b8', '#e67e22', '#5d6d7e', '#c0392b', '#27ae60'];

export interface SeriesData {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color?: string;
  readonly dash?: readonly number[];
  /** Second y axis (right), e.g. a loss beside a rate. */
  readonly right?: boolean;
}

export interface ChartOptions {
  /**
   * `time`: x is epoch seconds; `bars`: x are categories (`labels`), one series drawn as bars;
   * `categories`: x are categories, each series a line with large points (reads with one category too).
   */
  readonly kind: 'time' | 'bars' | 'categories';
  readonly yLabel?: string;
  readonly rightLabel?: string;
  /** y from 0 to 1, shown as percent. */
  readonly percent?: boolean;
}

const PLOT_HEIGHT_PX = 190;

const percent = (_: uPlot, splits: number[]): string[] => splits.map((v) => `${Math.round(v * 100)}%`);

/**
 * One uPlot chart in a container that follows the container's width. `update` replaces the
 * data; the chart is rebuilt only when the set of series changes (uPlot's series are fixed at
 * construction). The container's `data-points` says how many x values are plotted, so a test (or
 * a person) can tell an empty chart from a drawn one.
 */
export class Chart {
  private plot: uPlot | undefined;
  private key = '';
  private labels: readonly string[] = [];
  private readonly colors = new Map<string, string>();

  constructor(
    private readonly el: HTMLElement,
    private readonly options: ChartOptions,
  ) {
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(el);
  }

  private size(): { width: number; height: number } {
    // A fixed plot height: the legend below it takes what it needs and the container grows.
    return { width: Math.max(200, this.el.clientWidth), height: PLOT_HEIGHT_PX };
  }

  private colorOf(s: SeriesData): string {
    if (s.color !== undefined) return s.color;
    let c = this.colors.get(s.label);
    if (c === undefined) {
      c = PALETTE[this.colors.size % PALETTE.length] as string;
      this.colors.set(s.label, c);
    }
    return c;
  }

  update(x: readonly number[], series: readonly SeriesData[], labels: readonly string[] = []): void {
    this.labels = labels;
    this.el.dataset['points'] = String(x.length);
    this.el.dataset['series'] = String(series.length);
    const key = series.map((s) => `${s.label}|${s.right ? 'r' : 'l'}`).join('\u0000');
    const data = [x as number[], ...series.map((s) => s.values as (number | null)[])] as uPlot.AlignedData;
    if (this.plot !== undefined && key === this.key) this.plot.setData(data);
    else {
      this.plot?.destroy();
      this.key = key;
      this.plot = new uPlot(this.build(series), data, this.el);
    }
    // One instant would stretch a time axis over years: show a minute either side of it instead.
    const first = x[0];
    if (this.options.kind === 'time' && first !== undefined && x.every((v) => v === first)) this.plot.setScale('x', { min: first - 60, max: first + 60 });
  }

  private build(series: readonly SeriesData[]): uPlot.Options {
    const bars = this.options.kind === 'bars';
    const categorical = this.options.kind !== 'time';
    const yAxis: uPlot.Axis = { scale: 'y', label: this.options.yLabel ?? '', size: 50, ...(this.options.percent ? { values: percent } : {}) };
    const axes: uPlot.Axis[] = [
      categorical ? { values: (_u, splits) => splits.map((i) => this.labels[i] ?? ''), splits: () => this.labels.map((_, i) => i), gap: 4 } : {},
      yAxis,
    ];
    if (series.some((s) => s.right)) axes.push({ scale: 'y2', side: 1, label: this.options.rightLabel ?? '', size: 50, grid: { show: false } });
    return {
      ...this.size(),
      legend: { show: true, live: !categorical },
      cursor: { drag: { x: !categorical, y: false } },
      scales: {
        x: categorical ? { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } : { time: true },
        y: this.options.percent ? { range: [0, 1] } : { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
        y2: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
      },
      axes,
      series: [
        categorical ? { label: '' } : {},
        ...series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: this.colorOf(s),
          width: bars ? 0 : 2,
          scale: s.right ? 'y2' : 'y',
          spanGaps: true,
          ...(s.dash === undefined ? {} : { dash: [...s.dash] }),
          ...(bars
            ? { fill: this.colorOf(s), paths: uPlot.paths.bars?.({ size: [0.7, 120] }), points: { show: false } }
            : { points: { show: true, size: categorical ? 9 : 4 } }),
        })),
      ],
    };
  }
}
