#!/usr/bin/env node
// The build that `npm install` (via `prepare`) and `npm run build` run.
//
// Steps run in order. A required step that fails fails the build; an optional step (one that needs a
// toolchain a machine may lack, such as a C compiler) logs why it was skipped and the build goes on, so
// `npm install` never fails for want of a compiler. The steps: TypeScript, the wasm check (the .wasm itself
// is committed), the native placement addon (optional, node-gyp) and the agent's native shim (optional, cc).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** @type {{ name: string, optional: boolean, run: () => number | null }[]} */
const steps = [
  {
    name: 'typescript',
    optional: false,
    run: () => {
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      if (!existsSync(tsc)) {
        console.error('build: typescript is not installed; run `npm install` (with dev dependencies) first');
        return 1;
      }
      return spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' }).status;
    },
  },
  {
    // The committed wasm build of the placement kernel must be there: it is the backend of last resort
    // before the slow ts reference (scripts/build-wasm.sh rebuilds it; CI checks it is reproducible).
    name: 'placement-wasm',
    optional: false,
    run: () => {
      if (existsSync(join(root, 'wasm', 'placement.wasm'))) return 0;
      console.error('build: wasm/placement.wasm is missing; run scripts/build-wasm.sh');
      return 1;
    },
  },
  {
    // The native placement addon (node-gyp): optional, a machine without a compiler uses the wasm build.
    name: 'placement-native',
    optional: true,
    run: () => spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { stdio: 'inherit' }).status,
  },
  {
    // The agent's shim, the supervisor every task attempt runs under (src/agent/README.md): optional, an
    // agent on a machine without a C compiler uses the Node.js shim. Compiled to a temporary name and
    // renamed, so a running agent never execs a half-written binary.
    name: 'shim-native',
    optional: true,
    run: () => {
      const out = join(root, 'native', 'build', 'shim');
      mkdirSync(out, { recursive: true });
      const tmp = join(out, `muster-shim.${process.pid}.tmp`);
      const cc = process.env.CC || 'cc';
      const { status, error } = spawnSync(cc, ['-std=c11', '-O2', '-Wall', '-Wextra', '-o', tmp, join(root, 'native', 'shim', 'shim.c')], { stdio: 'inherit' });
      if (error) console.warn(`build: ${cc}: ${error.message}`);
      if (status !== 0) return status ?? 1;
      renameSync(tmp, join(out, 'muster-shim'));
      console.log('build: built native/build/shim/muster-shim');
      return 0;
    },
  },
];

for (const step of steps) {
  const status = step.run();
  if (status === 0) continue;
  if (step.optional) {
    console.warn(`build: optional step ${step.name} failed (status ${status}); continuing without it`);
    continue;
  }
  console.error(`build: step ${step.name} failed (status ${status})`);
  process.exit(1);
}
