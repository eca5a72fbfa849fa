/**
 * One attempt to open the `/v1/submit` WebSocket on one endpoint. It opens, fails to reach the endpoint,
 * or is refused: a refused upgrade is an HTTP answer with a JSON error body (PROTOCOL.md), read into a
 * `ServerError` (a standby's MUSTER_ERR_NOT_LEADER carries the leader it knows of). Every step has a
 * deadline: the handshake's, and the same again for a refusal's body.
 */
import { createRequire } from 'node:module';
import type WebSocket from 'ws';
import { MusterError } from '../errors/index.js';
import type { Endpoint } from './endpoints.js';
import type { ServerError } from './server-error.js';
import { serverError } from './server-error.js';

/** How much of a refused upgrade's body is read for its `{ code, message }`. */
const MAX_REFUSAL_BODY_BYTES = 64 * 1024;

/** Longest handshake: a replica that accepts the TCP connection and then says nothing is passed over after it. */
const MAX_HANDSHAKE_MS = 10_000;

export interface DialOptions {
  readonly token?: string;
  /** The handshake's deadline (at most MAX_HANDSHAKE_MS). */
  readonly timeoutMs: number;
  readonly maxFrameBytes: number;
}

export type DialOutcome =
  | { readonly ws: WebSocket }
  /** `fatal`: a refused token (401, 403), which no other endpoint or later try would accept. */
  | { readonly error: Error; readonly fatal: boolean; readonly refusal?: ServerError };

/** `ws`, loaded on the first dial rather than with the client: a command that only reads over HTTP never pays for it. */
let wsClass: typeof WebSocket | undefined;

export function dial(endpoint: Endpoint, options: DialOptions): Promise<DialOutcome> {
  const Socket = (wsClass ??= createRequire(import.meta.url)('ws') as typeof WebSocket);
  const handshakeMs = Math.min(options.timeoutMs, MAX_HANDSHAKE_MS);
  return new Promise<DialOutcome>((resolve) => {
    const ws = new Socket(endpoint.submit, {
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      handshakeTimeout: handshakeMs,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
    });
    let done = false;
    const finish = (outcome: DialOutcome): void => {
      if (done) return;
      done = true;
      resolve(outcome);
    };
    // ws throws on an 'error' event nobody listens to: this listener stays for the socket's life.
    ws.on('error', (err) => finish({ error: new MusterError('MUSTER_ERR_UNREACHABLE', describe(err)), fatal: false }));
    ws.once('open', () => finish({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const status = res.statusCode ?? 0;
      const stalled = setTimeout(() => {
        finish({ error: new MusterError('MUSTER_ERR_UNREACHABLE', `refused the upgrade with HTTP ${status} and sent no whole body within ${handshakeMs} ms`), fatal: false });
        ws.terminate();
      }, handshakeMs);
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_REFUSAL_BODY_BYTES) chunks.push(chunk);
      });
      res.on('error', () => undefined);
      res.on('end', () => {
        clearTimeout(stalled);
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = { code: status === 401 ? 'MUSTER_ERR_UNAUTHORIZED' : status === 403 ? 'MUSTER_ERR_FORBIDDEN' : 'MUSTER_ERR_UNREACHABLE', message: `${endpoint.submit} refused the upgrade with HTTP ${status}` };
        }
        const refusal = serverError(body, status);
        finish({ error: refusal, fatal: status === 401 || status === 403, refusal });
        ws.terminate();
      });
    });
  });
}

/** The cause of a failed connection, short: `ECONNREFUSED`, `ENOTFOUND`, or the message. */
export function describe(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}
