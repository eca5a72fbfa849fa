/**
 * The admin and inspection API of a host. A worker host exposes it to the main thread through comlink on a
 * port of its own (not the data path: admin calls are rare and may be slow, e.g. a spawn imports a module).
 * The main host implements the same interface directly.
 *
 * Every call made through `AdminClient` has a deadline (`MUSTER_ERR_ADMIN_TIMEOUT`) and rejects with
 * `MUSTER_ERR_ACTOR_HOST_DIED` as soon as the worker is known dead: comlink alone would wait forever for an
 * answer from a thread that no longer exists.
 */
import * as Comlink from 'comlink';
import nodeAdapter from 'comlink/dist/umd/node-adapter.js';
import type { MessagePort } from 'node:worker_threads';
import { MusterError, fromWire, toWire } from '../errors/index.js';
import type { WireError } from '../errors/index.js';
import type { ActorHost, HostStats } from './host.js';
import { loadDefinition } from './producer.js';
import type { ProducerSpec } from './producer.js';

// The UMD build assigns the function to `module.exports`; TypeScript reads its d.ts as `exports.default`.
const nodeEndpoint = nodeAdapter as unknown as typeof nodeAdapter.default;

export interface HostAdmin {
  /** Builds the actor from its producer under the given id (the system assigns ids). */
  spawn(id: number, spec: ProducerSpec): Promise<void>;
  /** Asks the actor to stop; false if it does not exist. */
  stop(id: number): Promise<boolean>;
  stats(): Promise<HostStats>;
}

/** Admin answers cross threads as values; errors travel as `{ code, message }` and are rebuilt on arrival. */
type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

interface WireAdmin {
  spawn(id: number, spec: ProducerSpec): Promise<Answer<void>>;
  stop(id: number): Promise<Answer<boolean>>;
  stats(): Promise<Answer<HostStats>>;
}

async function answer<T>(body: () => T | Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (err) {
    return { ok: false, error: toWire(err) };
  }
}

export function createHostAdmin(host: ActorHost): HostAdmin {
  return {
    async spawn(id, spec) {
      const definition = await loadDefinition(spec);
      host.spawn(definition, id);
    },
    async stop(id) {
      if (!host.has(id)) return false;
      host.requestStop({ host: host.id, id });
      return true;
    },
    async stats() {
      return host.stats();
    },
  };
}

/** In a worker: serve `admin` on `port`. */
export function exposeAdmin(admin: HostAdmin, port: MessagePort): void {
  const wire: WireAdmin = {
    spawn: (id, spec) => answer(() => admin.spawn(id, spec)),
    stop: (id) => answer(() => admin.stop(id)),
    stats: () => answer(() => admin.stats()),
  };
  Comlink.expose(wire, nodeEndpoint(port));
}

/** On the main thread: the admin of one worker incarnation, with deadlines and death detection. */
export class AdminClient implements HostAdmin {
  readonly #remote: Comlink.Remote<WireAdmin>;
  readonly #port: MessagePort;
  readonly #host: number;
  readonly #timeoutMs: number;
  readonly #pending = new Set<(error: Error) => void>();
  #dead: Error | undefined;

  constructor(host: number, port: MessagePort, timeoutMs: number) {
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = timeoutMs;
    this.#remote = Comlink.wrap<WireAdmin>(nodeEndpoint(port));
  }

  spawn(id: number, spec: ProducerSpec): Promise<void> {
    return this.#call('spawn', () => this.#remote.spawn(id, spec));
  }

  stop(id: number): Promise<boolean> {
    return this.#call('stop', () => this.#remote.stop(id));
  }

  stats(): Promise<HostStats> {
    return this.#call('stats', () => this.#remote.stats());
  }

  /** The worker died: every waiting and future call rejects with `MUSTER_ERR_ACTOR_HOST_DIED`. */
  hostDied(cause: string): void {
    if (this.#dead !== undefined) return;
    this.#dead = new MusterError('MUSTER_ERR_ACTOR_HOST_DIED', `host ${this.#host} died (${cause})`);
    for (const reject of [...this.#pending]) reject(this.#dead);
    this.#pending.clear();
    this.#port.close();
  }

  #call<T>(name: string, invoke: () => Promise<Answer<T>>): Promise<T> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    return new Promise<T>((resolve, reject) => {
      const settle = (error: Error | undefined, value?: T): void => {
        if (!this.#pending.delete(fail)) return; // settled already (timeout, death or answer)
        clearTimeout(timer);
        if (error === undefined) resolve(value as T);
        else reject(error);
      };
      const fail = (error: Error): void => settle(error);
      const timer = setTimeout(() => fail(new MusterError('MUSTER_ERR_ADMIN_TIMEOUT', `admin ${name} on host ${this.#host}: no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      this.#pending.add(fail);
      invoke().then(
        (a) => (a.ok ? settle(undefined, a.value) : fail(fromWire(a.error))),
        (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }
}
