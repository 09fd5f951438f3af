#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm ci` (the `prepare` script) or `npm run build`.
// It needs Node >= 24 (Node 20 is end of life; @platformatic/kafka needs >= 22.22). The project
// carries Node 24 as a dev dependency: `npx astro-stream` and npm scripts put it first on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `astro-stream: needs Node >= 24, this is ${process.version} (${process.execPath}).\n` +
      `Run it as \`npx astro-stream ...\` in the checkout (npm puts the project's Node 24 first on PATH), ` +
      `or with node_modules/.bin/node bin/astro-stream.js.\n`,
  );
  process.exit(2);
}
await import('../dist/streams/cli/main.js');
