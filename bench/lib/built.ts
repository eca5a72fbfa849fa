/**
 * Modules of the built tree (`dist/`, the TypeScript output a user runs), for benchmarks that measure what
 * ships rather than the sources run through tsx.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Imports `dist/PATH` (e.g. `client/index.js`); fails with what to do when the tree is not built. */
export async function importBuilt<T>(path: string): Promise<T> {
  const file = fileURLToPath(new URL(`../../dist/${path}`, import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing; run \`npm run build\` first`);
  return (await import(pathToFileURL(file).href)) as T;
}
