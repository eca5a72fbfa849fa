/**
 * Which shim supervises attempts: the native one (native/shim/shim.c, built at install into
 * native/build/shim/muster-shim: ~1 ms to start, well under a MiB of memory) when it is there, else the
 * Node.js one (node-shim.ts: the same contract, one node process per task). `MUSTER_SHIM=native|node`
 * forces one. The executor logs the choice.
 */
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MusterError } from '../../errors/index.js';

export type ShimKind = 'native' | 'node';

export interface Shim {
  readonly kind: ShimKind;
  /** The program to run, and the arguments that come before the shim's own options. */
  readonly command: string;
  readonly prefix: readonly string[];
}

/** Where the build puts the native shim (scripts/build.mjs). */
export const NATIVE_SHIM_PATH = fileURLToPath(new URL('../../../native/build/shim/muster-shim', import.meta.url));

/** The Node.js shim: node-shim.js next to this file, or, when muster runs from its sources, node-shim.ts through tsx. */
function nodeShim(): Shim {
  const fromSources = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(fromSources ? './node-shim.ts' : './node-shim.js', import.meta.url));
  const prefix = fromSources ? ['--import', import.meta.resolve('tsx'), script] : [script];
  return { kind: 'node', command: process.execPath, prefix };
}

function nativeShim(): Shim | undefined {
  try {
    accessSync(NATIVE_SHIM_PATH, constants.X_OK);
    return { kind: 'native', command: NATIVE_SHIM_PATH, prefix: [] };
  } catch {
    return undefined;
  }
}

/** The shim to use: `forced` (`MUSTER_SHIM`) if set, else native when built, else node. Throws (coded) when a forced one is not there. */
export function selectShim(forced: string | undefined = process.env['MUSTER_SHIM']): Shim {
  if (forced === undefined || forced === '') return nativeShim() ?? nodeShim();
  if (forced === 'node') return nodeShim();
  if (forced === 'native') {
    const native = nativeShim();
    if (!native) throw new MusterError('MUSTER_ERR_USAGE', `MUSTER_SHIM=native: the native shim is not built (${NATIVE_SHIM_PATH}; npm run build makes it when a C compiler is there)`);
    return native;
  }
  throw new MusterError('MUSTER_ERR_INVALID_VALUE', `MUSTER_SHIM=${forced}: expected native or node`);
}
