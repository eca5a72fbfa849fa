/**
 * Loading uWebSockets.js, and refusing its fallback. The package muster installs (an unofficial Node 20
 * build, under the name `uWebSockets.js`) quietly falls back to a JavaScript emulation on top of `ws` when
 * its native binary does not load here (or when `UWS_USE_FALLBACK` is set). That emulation lacks
 * `SSLApp`, differs in behaviour (backpressure, limits) and is far slower, so a server on it would not be
 * the server that was measured: `loadUws` refuses it with `MUSTER_ERR_UWS_FALLBACK`.
 */
import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';
import { MusterError } from '../errors/index.js';

export type UwsModule = typeof Uws;

/** `uWS.DISABLED`: no permessage-deflate (msgpack batches compress poorly and compressing costs CPU). */
export const DISABLED = 0;

/** Whether a loaded module is the native server: native `App` and `SSLApp` (the fallback has no `SSLApp`). */
export function isNativeUws(mod: Partial<UwsModule>): boolean {
  const native = (f: unknown): boolean => typeof f === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(f));
  return native(mod.App) && native(mod.SSLApp) && native(mod.us_listen_socket_close);
}

let loaded: UwsModule | undefined;

export function loadUws(): UwsModule {
  if (loaded) return loaded;
  const mod = createRequire(import.meta.url)('uWebSockets.js') as Partial<UwsModule>;
  if (!isNativeUws(mod)) {
    const why = process.env['UWS_USE_FALLBACK'] ? ' (UWS_USE_FALLBACK is set)' : ` (no native binary loads for ${process.platform}-${process.arch}, Node ABI ${process.versions.modules})`;
    throw new MusterError('MUSTER_ERR_UWS_FALLBACK', `uWebSockets.js loaded its JavaScript fallback instead of the native server${why}; muster server refuses to run on it`);
  }
  loaded = mod as UwsModule;
  return loaded;
}
