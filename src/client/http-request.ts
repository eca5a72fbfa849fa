/**
 * One HTTP request over `node:http` / `node:https`, its answer read whole. The client's HTTP routes use this
 * rather than the global `fetch`, whose implementation (undici, with its WebAssembly parser and web streams)
 * Node loads on first use: 25–100 ms of a CLI command's 300 ms budget (bench/cli.bench.ts). Connections go
 * through Node's global agent (kept alive between requests).
 *
 * Failures look like fetch's, for the caller's one way of reading them: past the deadline an error named
 * `TimeoutError`; a network failure an error whose `cause` is the system error (`ECONNREFUSED`, …).
 */
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpRequestInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The deadline for the whole exchange, body included. */
  readonly timeoutMs: number;
}

/** The response's headers, read by name (any case). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  readonly data: Buffer;
}

export type HttpRequester = (url: string, init: HttpRequestInit) => Promise<HttpAnswer>;

function headersOf(raw: IncomingHttpHeaders): ResponseHeaders {
  return {
    get(name) {
      const value = raw[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

function timeoutError(timeoutMs: number): Error {
  const err = new Error(`no answer within ${timeoutMs} ms`);
  err.name = 'TimeoutError';
  return err;
}

export const requestHttp: HttpRequester = (url, init) =>
  new Promise<HttpAnswer>((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = send(url, { method: init.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => fail(Object.assign(new Error('the answer broke off'), { cause: err })));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, headers: headersOf(res.headers), data: Buffer.concat(chunks) });
      });
    });
    const timer = setTimeout(() => fail(timeoutError(init.timeoutMs)), Math.max(1, Math.ceil(init.timeoutMs)));
    req.on('error', (err) => fail(Object.assign(new Error('request failed'), { cause: err })));
    req.end(init.body);
  });
