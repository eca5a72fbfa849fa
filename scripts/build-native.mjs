#!/usr/bin/env node
// Builds the native placement addon (native/binding.gyp) with the node-gyp that ships inside npm, so
// muster does not depend on it. Optional by design: scripts/build.mjs treats a failure as "no native
// backend" (the wasm backend is always there), so `npm install` never fails for want of a compiler.
// Output: native/build/Release/muster_placement.node. Exit status: 0 built, non-zero otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'native');

/** node-gyp: npm's own copy (found from npm_execpath when run by npm, else the system npm), or $NODE_GYP. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.NODE_GYP) candidates.push(process.env.NODE_GYP);
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push('/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  return candidates.find((c) => existsSync(c));
}

const gyp = findNodeGyp();
if (!gyp) {
  console.warn('build-native: node-gyp not found (set NODE_GYP); skipping the native addon');
  process.exit(1);
}
// configure + build, not rebuild: rebuild deletes build/ first, which races a concurrent build (npm test in
// another shell) and loses its files.
const args = [gyp, 'configure', 'build', '--directory', native, '--loglevel', 'warn'];
// Headers: a Debian-style Node keeps them in /usr/include/node (npm's nodedir=/usr); otherwise node-gyp
// uses its cache or downloads them (npm config nodedir overrides both).
const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
const { status } = spawnSync(process.execPath, args, { cwd: native, stdio: 'inherit' });
if (status === 0) console.log('build-native: built native/build/Release/muster_placement.node');
process.exit(status ?? 1);
