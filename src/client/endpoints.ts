/**
 * Server endpoints. A user names a server the way `muster server` prints it (`http://127.0.0.1:7070`), or
 * as `host:port`, `ws://…`, `https://…`; each endpoint has one HTTP base and one WebSocket URL for
 * `/v1/submit`. A list is tried in order (replicas: the leader and its standbys).
 */
import { MusterError } from '../errors/index.js';

export interface Endpoint {
  /** `http(s)://host:port` with no trailing slash: the base of the HTTP routes. */
  readonly http: string;
  /** `ws(s)://host:port/v1/submit`. */
  readonly submit: string;
}

const SCHEMES: Readonly<Record<string, string>> = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' };

export function parseEndpoint(text: string): Endpoint {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`);
  } catch {
    throw new MusterError('MUSTER_ERR_INVALID_VALUE', `${JSON.stringify(text)} is not a server address (write http://HOST:PORT)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined || url.hostname === '') {
    throw new MusterError('MUSTER_ERR_INVALID_VALUE', `${JSON.stringify(text)} is not a server address (write http://HOST:PORT, https://…, ws://… or wss://…)`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  const http = `${scheme}//${url.host}${path}`;
  const submit = `${scheme === 'https:' ? 'wss:' : 'ws:'}//${url.host}${path}/v1/submit`;
  return { http, submit };
}

/** A list given as an array or as one comma-separated string (`MUSTER_SERVER=http://a:7070,http://b:7070`). */
export function parseEndpoints(list: string | readonly string[]): Endpoint[] {
  const texts = (typeof list === 'string' ? list.split(',') : list.flatMap((s) => s.split(','))).filter((s) => s.trim() !== '');
  if (texts.length === 0) throw new MusterError('MUSTER_ERR_REQUIRED', 'name at least one server endpoint');
  return texts.map(parseEndpoint);
}
