/**
 * The HTTP JSON routes (PROTOCOL.md, HTTP routes) over node's `fetch`. Endpoints are tried in order when
 * one cannot be reached; an endpoint that answers, even with an error, is the answer. Error bodies become
 * a `ServerError` with the server's code and the HTTP status.
 */
import { MusterError } from '../errors/index.js';
import type { Endpoint } from './endpoints.js';
import { serverError } from './server-error.js';

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface HttpOptions {
  readonly endpoints: readonly Endpoint[];
  readonly token?: string;
  readonly timeoutMs: number;
  /** `fetch` by default; tests may count or fail calls. */
  readonly fetch?: typeof fetch;
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export class HttpApi {
  readonly #options: HttpOptions;
  readonly #fetch: typeof fetch;

  constructor(options: HttpOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.#call<T>('GET', `${path}${queryString(query)}`);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('POST', path, body);
  }

  /** A route that answers bytes (a task's output): the body and the response headers. */
  async getBytes(path: string, query?: Query): Promise<{ readonly data: Buffer; readonly headers: Headers }> {
    const target = `${path}${queryString(query)}`;
    const response = await this.#request('GET', target, undefined, 'application/octet-stream');
    const data = Buffer.from(await response.arrayBuffer());
    if (!response.ok) throw failed(response, 'GET', target, data.toString('utf8'));
    return { data, headers: response.headers };
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.#request(method, path, body, 'application/json');
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) throw failed(response, method, path, text);
    if (json === undefined) throw new MusterError('MUSTER_ERR_INTERNAL', `${method} ${path}: the server answered ${response.status} without a JSON body`);
    return json as T;
  }

  async #request(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (this.#options.token) headers['authorization'] = `Bearer ${this.#options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let lastError = 'no endpoint';
    for (const endpoint of this.#options.endpoints) {
      let response: Response;
      try {
        response = await this.#fetch(`${endpoint.http}${path}`, {
          method,
          headers,
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(this.#options.timeoutMs),
        });
      } catch (err) {
        if ((err as Error).name === 'TimeoutError') {
          throw new MusterError('MUSTER_ERR_REQUEST_TIMEOUT', `no answer from ${endpoint.http} to ${method} ${path} within ${this.#options.timeoutMs} ms`);
        }
        lastError = `${endpoint.http}: ${networkCause(err)}`;
        continue;
      }
      return response;
    }
    throw new MusterError('MUSTER_ERR_UNREACHABLE', `cannot reach the muster server (${lastError})`);
  }
}

/** A refused request as the server's coded error (its JSON body), or an internal one if the body is not JSON. */
function failed(response: Response, method: string, path: string, text: string): Error {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return serverError(json ?? { code: 'MUSTER_ERR_INTERNAL', message: `${method} ${path}: HTTP ${response.status} ${text.slice(0, 200)}` }, response.status);
}

/** fetch fails with "fetch failed" and the real reason (ECONNREFUSED, ENOTFOUND, …) in `cause`. */
function networkCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
