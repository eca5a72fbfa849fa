/**
 * The driver of the load generator process (bench/gateway-load.ts): orders in, answers out, over IPC, one
 * order at a time. The load runs in a process of its own so the server under test shares no event loop
 * with the client that drives it. Used by the gateway's end-to-end cases and the failover benchmark's.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadAnswer, LoadOrder } from './gateway-load.js';

export class LoadGenerator {
  readonly #child: ChildProcess;
  readonly #ready: Promise<void>;
  #pending: ((answer: LoadAnswer) => void) | undefined;

  constructor() {
    const file = fileURLToPath(new URL('./gateway-load.ts', import.meta.url));
    this.#child = fork(file, [], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#ready = new Promise((resolve, reject) => {
      this.#child.once('message', () => resolve());
      this.#child.once('exit', (code) => reject(new Error(`the load generator exited (${code})`)));
    });
    this.#child.on('message', (answer: LoadAnswer) => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.(answer);
    });
  }

  async run<K extends LoadOrder['kind']>(order: Extract<LoadOrder, { kind: K }>): Promise<Extract<LoadAnswer, { kind: K }>> {
    await this.#ready;
    const answer = await new Promise<LoadAnswer>((resolve) => {
      this.#pending = resolve;
      this.#child.send(order);
    });
    if (answer.kind === 'failed') throw new Error(`load generator: ${answer.message}`);
    if (answer.kind !== order.kind) throw new Error(`load generator answered ${answer.kind} to ${order.kind}`);
    return answer as Extract<LoadAnswer, { kind: K }>;
  }

  stop(): void {
    this.#child.disconnect();
  }
}
