#!/usr/bin/env node
// The `muster` command. The CLI itself is TypeScript compiled to dist/ by `npm install` / `npm run build`.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(main)) {
  console.error('muster: dist/ is missing; run `npm run build` in the muster checkout');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
