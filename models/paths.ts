import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root (the nearest folder with a package.json above this module). Found by walking
 * up rather than by counting `..`, so it is right both from source and from `dist/`, whose tree
 * is one level deeper.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Absolute path of the committed, untrained Countdown policy-value model (not copied into dist). */
export function initialCountdownModelPath(): string {
  return join(packageRoot(), 'models', 'countdown', 'initial.onnx');
}
