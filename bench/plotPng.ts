// A tiny line-chart PNG renderer for benchmark plots (no plotting library is installed here:
// no matplotlib, and no new npm packages). RGB canvas, Bresenham lines, a 5×7 bitmap font for
// the few characters labels use, zlib-compressed PNG via node:zlib.
import { deflateSync } from 'node:zlib';

type Rgb = readonly [number, number, number];

export interface Series {
  readonly name: string;
  readonly color: Rgb;
  readonly points: readonly (readonly [number, number])[];
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly series: readonly Series[];
}

// 5×7 glyphs, one string of 7 rows × 5 columns per character ('#' = ink).
const FONT: Record<string, string> = {
  '0': ' ### #   ##  ### # ###  ##   # ### ', '1': '  #   ##    #    #    #    #   ### ', '2': ' ### #   #    #   #   #   #   #####',
  '3': '#####   #   #     #     ##   # ### ', '4': '   #   ##  # # #  # #####   #    # ', '5': '######    ####     #    ##   # ### ',
  '6': '  ## #    #    #### #   ##   # ### ', '7': '#####    #   #   #   #    #    #   ', '8': ' ### #   ##   # ### #   ##   # ### ',
  '9': ' ### #   ##   # ####    #   #  ##  ', '.': '                          ##   ##  ', '%': '##   ##  #   #   #   #   #  ##   ##',
  ' ': '                                   ', '-': '               #####               ',
  A: ' ### #   ##   #######   ##   ##   #', C: ' ### #   ##    #    #    #   # ### ', D: '#### #   ##   ##   ##   ##   ##### ',
  E: '######    #    #### #    #    #####', G: ' ### #   ##    # ####   ##   # ####', I: ' ###   #    #    #    #    #   ### ',
  L: '#    #    #    #    #    #    #####', M: '#   ### ### # ## # ##   ##   ##   #', N: '#   ##   ###  ## # ##  ###   ##   #',
  O: ' ### #   ##   ##   ##   ##   # ### ', R: '#### #   ##   ##### # #  #  # #   #', S: ' #####    #     ###     #    ##### ',
  T: '#####  #    #    #    #    #    #  ', U: '#   ##   ##   ##   ##   ##   # ### ', V: '#   ##   ##   ##   ##   # # #   #  ',
  W: '#   ##   ##   ## # ## # ## # # # # ', Y: '#   ##   # # #   #    #    #    #  ', Z: '#####    #   #   #   #   #    #####',
  B: '#### #   ##   ##### #   ##   ##### ', F: '######    #    #### #    #    #    ', H: '#   ##   ##   #######   ##   ##   #',
  K: '#   ##  # # #  ##   # #  #  # #   #', P: '#### #   ##   ##### #    #    #    ', X: '#   ##   # # #   #   # # #   ##   #',
  ':': '      ##   ##        ##   ##       ',
};

class Canvas {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number) {
    this.data = new Uint8Array(width * height * 3).fill(255);
  }
  set(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const i = (yi * this.width + xi) * 3;
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
  }
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = 0; dx < thick; dx++) for (let dy = 0; dy < thick; dy++) this.set(x + dx, y + dy, c);
    }
  }
  box(x: number, y: number, size: number, c: Rgb): void {
    for (let dx = -size; dx <= size; dx++) for (let dy = -size; dy <= size; dy++) this.set(x + dx, y + dy, c);
  }
  text(x: number, y: number, s: string, c: Rgb = [0, 0, 0]): void {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT[' '] ?? '';
      for (let r = 0; r < 7; r++) for (let col = 0; col < 5; col++) if (g[r * 5 + col] === '#') this.set(cx + col, y + r, c);
      cx += 6;
    }
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

function encodePng(canvas: Canvas): Buffer {
  const raw = Buffer.alloc((canvas.width * 3 + 1) * canvas.height);
  for (let y = 0; y < canvas.height; y++) {
    raw[y * (canvas.width * 3 + 1)] = 0; // filter: none
    raw.set(canvas.data.subarray(y * canvas.width * 3, (y + 1) * canvas.width * 3), y * (canvas.width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(canvas.width, 0);
  ihdr.writeUInt32BE(canvas.height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

const fmt = (v: number): string => (Math.abs(v) >= 10 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1));

/** Renders panels side by side (y axis: percent, from 0), each with its series and a legend. */
export function renderLineChart(options: { readonly width: number; readonly height: number; readonly panels: readonly Panel[] }): Buffer {
  const canvas = new Canvas(options.width, options.height);
  const panelWidth = options.width / options.panels.length;
  const grey: Rgb = [200, 200, 200];
  options.panels.forEach((panel, p) => {
    const left = p * panelWidth + 50;
    const right = (p + 1) * panelWidth - 20;
    const top = 40;
    const bottom = options.height - 45;
    const all = panel.series.flatMap((s) => s.points);
    const xMax = Math.max(1e-9, ...all.map((pt) => pt[0]));
    const yMax = Math.max(5, ...all.map((pt) => pt[1])) * 1.1;
    const X = (x: number): number => left + (x / xMax) * (right - left);
    const Y = (y: number): number => bottom - (y / yMax) * (bottom - top);
    for (let k = 0; k <= 5; k++) {
      const y = (yMax * k) / 5;
      canvas.line(left, Y(y), right, Y(y), grey);
      canvas.text(left - 8 - fmt(y).length * 6, Y(y) - 3, fmt(y));
      const x = (xMax * k) / 5;
      canvas.text(X(x) - fmt(x).length * 3, bottom + 8, fmt(x));
    }
    canvas.line(left, top, left, bottom, [0, 0, 0]);
    canvas.line(left, bottom, right, bottom, [0, 0, 0]);
    canvas.text(left, 12, panel.title);
    canvas.text((left + right) / 2 - panel.xLabel.length * 3, bottom + 24, panel.xLabel);
    canvas.text(left - 45, top - 14, 'SOLVE %');
    panel.series.forEach((s, si) => {
      for (let i = 1; i < s.points.length; i++) {
        const a = s.points[i - 1];
        const b = s.points[i];
        if (a && b) canvas.line(X(a[0]), Y(a[1]), X(b[0]), Y(b[1]), s.color, 2);
      }
      for (const pt of s.points) canvas.box(X(pt[0]), Y(pt[1]), 2, s.color);
      canvas.box(right - 90, top + 8 + si * 14, 3, s.color);
      canvas.text(right - 80, top + 5 + si * 14, s.name, s.color);
    });
  });
  return encodePng(canvas);
}
