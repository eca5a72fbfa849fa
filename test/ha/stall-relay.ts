/**
 * A TCP relay in front of one etcd member that can stall: after `stall()` every connection stays open but
 * nothing passes either way, and new connections are accepted and held, never forwarded: a path that drops
 * packets rather than refusing them. Calls through it get no answer (and no error) until their deadlines;
 * what they sent never reaches etcd, not even later (stalled data is dropped at close, never delivered).
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export class StallRelay {
  readonly #server: Server;
  readonly #targetPort: number;
  readonly #pairs = new Set<[Socket, Socket]>();
  readonly #held = new Set<Socket>();
  #stalled = false;

  constructor(targetUrl: string) {
    this.#targetPort = Number(new URL(targetUrl).port);
    this.#server = createServer((inbound) => this.#accept(inbound));
  }

  /** Listens on a free port of 127.0.0.1; resolves with the relay's `http://` URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
  }

  stall(): void {
    this.#stalled = true;
    for (const [inbound, outbound] of this.#pairs) {
      inbound.unpipe(outbound);
      outbound.unpipe(inbound);
      inbound.pause();
      outbound.pause();
    }
  }

  async close(): Promise<void> {
    for (const [inbound, outbound] of this.#pairs) {
      inbound.destroy();
      outbound.destroy();
    }
    for (const s of this.#held) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(inbound: Socket): void {
    inbound.on('error', () => inbound.destroy());
    if (this.#stalled) {
      inbound.pause();
      this.#held.add(inbound);
      inbound.on('close', () => this.#held.delete(inbound));
      return;
    }
    const outbound = connect(this.#targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [inbound, outbound];
    this.#pairs.add(pair);
    for (const s of pair) {
      s.setNoDelay(true);
      s.on('error', () => s.destroy());
      s.on('close', () => {
        this.#pairs.delete(pair);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  }
}
