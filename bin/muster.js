#!/usr/bin/env node
// The `muster` command. The CLI itself is TypeScript compiled to dist/ by `npm install` / `npm run build`.
// This file stays small: it imports only what every command needs (dist/cli/main.js loads the command's
// own modules when it runs), so `muster --version` costs about what starting Node costs.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(main)) {
  console.error('muster: dist/ is missing; run `npm run build` in the muster checkout');
  process.exit(1);
}
const { run } = await import(main.href);
const code = await run(process.argv.slice(2));
process.exitCode = code;
// The command is done: exit once stdout and stderr have taken what it wrote, rather than wait for idle
// keep-alive connections of fetch (and such) to close by themselves, which takes up to a few hundred ms.
let flushing = 2;
const flushed = () => {
  if (--flushing === 0) process.exit(code);
};
process.stdout.write('', flushed);
process.stderr.write('', flushed);
