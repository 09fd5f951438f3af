// Module hooks that let a worker thread started from the TypeScript sources (vitest) import them:
// a relative `./x.js` that does not exist resolves to `./x.ts`, which is transpiled (types erased,
// nothing checked) by the `typescript` dev dependency. Registered by rebuildWorker.js only when it
// runs next to the .ts sources; a build (dist/) has the .js files and never loads this.
import { readFile } from 'node:fs/promises';

let ts;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !specifier.startsWith('.') || !specifier.endsWith('.js')) throw error;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  ts ??= (await import('typescript')).default;
  const source = await readFile(new URL(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: new URL(url).pathname,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
