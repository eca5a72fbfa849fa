/**
 * A TCP relay in front of a server, for faults of the link rather than of a process:
 *
 * - `cut()` destroys every relayed connection and refuses new ones (each is accepted and destroyed at
 *   once, as a network that drops the path would look to the agent: no frames, no pongs, connects that
 *   fail); `mend()` lets connections through again;
 * - `retarget(port)` sends new connections to another port: a server restarted on a new port (the old one
 *   may be held by the killed process's connections in TIME_WAIT) stays at one address for its clients.
 *
 * A connection whose upstream cannot be reached (the server is down) is closed, as a refused connect would be.
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export class Relay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #targetPort: number;
  #cut = false;
  #port = 0;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
    this.#server = createServer((inbound) => this.#relay(inbound));
  }

  /** Listens on a free port of 127.0.0.1; resolves with the relay's `http://` URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as { port: number }).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  retarget(port: number): void {
    this.#targetPort = port;
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  mend(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #relay(inbound: Socket): void {
    if (this.#cut) {
      inbound.destroy();
      return;
    }
    const outbound = connect(this.#targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      this.#sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => {
        this.#sockets.delete(s);
        // Either side gone: the other goes too, as one TCP connection would.
        inbound.destroy();
        outbound.destroy();
      });
      s.on('error', () => s.destroy());
    }
    inbound.pipe(outbound).pipe(inbound);
  }
}
