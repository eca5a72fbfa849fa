/**
 * Where the server's tokens come from: a token file (YAML or JSON list of `{ token, tenant, role }`), a list
 * inline in the config, or — with neither — one admin token kept in the data folder (`admin.token`, mode
 * 0600), made on first start, so a fresh `muster server` is usable at once and never open.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TokenEntry } from '../api/index.js';
import { newToken } from '../api/index.js';
import { MusterError } from '../errors/index.js';
import type { ServerConfig } from './config.js';
import { readDataFile, readTokenEntries } from './config.js';

export const ADMIN_TOKEN_FILE = 'admin.token';
/** The tenant of the generated admin token (an admin may act for any tenant; this is its default). */
export const ADMIN_TENANT = 'default';

export interface LoadedTokens {
  readonly entries: readonly TokenEntry[];
  /** The admin token from the data folder, when that is where the tokens come from. */
  readonly adminToken: string | undefined;
  /** Whether that admin token was made by this start. */
  readonly generated: boolean;
}

export async function loadTokens(config: ServerConfig): Promise<LoadedTokens> {
  if (typeof config.tokens === 'string') {
    const entries = readTokenEntries(await readDataFile(config.tokens), config.tokens);
    if (entries.length === 0) throw new MusterError('MUSTER_ERR_INVALID_SPEC', `${config.tokens}: holds no token: nobody could use the server`);
    return { entries, adminToken: undefined, generated: false };
  }
  if (config.tokens !== undefined) return { entries: config.tokens, adminToken: undefined, generated: false };
  const file = join(config.data, ADMIN_TOKEN_FILE);
  let token: string | undefined;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (token) return { entries: [{ token, tenant: ADMIN_TENANT, role: 'admin' }], adminToken: token, generated: false };
  token = newToken();
  await mkdir(config.data, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { entries: [{ token, tenant: ADMIN_TENANT, role: 'admin' }], adminToken: token, generated: true };
}
