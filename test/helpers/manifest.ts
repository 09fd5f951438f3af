import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { readManifest, verifyManifestFiles } from '../../streams/sinks/manifest.js';

/** The manifest of a run directory lists exactly the files on disk, with matching checksums. */
export async function expectConsistent(dir: string): Promise<void> {
  const manifest = await readManifest(dir);
  expect(await verifyManifestFiles(dir, manifest)).toEqual([]);
  const onDisk = ['traces', 'trees'].flatMap((sub) => readdirSync(join(dir, sub)).map((n) => `${sub}/${n}`)).sort();
  expect(manifest.files.map((f) => f.path).sort()).toEqual(onDisk);
}
