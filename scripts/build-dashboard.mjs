#!/usr/bin/env node
// Bundles the dashboard page (streams/dashboard/page/main.ts with uPlot and d3-hierarchy) with
// esbuild into dist/streams/dashboard/public/, next to the compiled server that serves it, and
// copies the HTML and styles. No CDN: the page loads only these files. Part of `npm run build`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const page = join(root, 'streams', 'dashboard', 'page');
const out = join(root, 'dist', 'streams', 'dashboard', 'public');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(page, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(page, 'index.html'), join(out, 'index.html'));
copyFileSync(join(page, 'style.css'), join(out, 'app.css'));
copyFileSync(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), join(out, 'uPlot.min.css'));
