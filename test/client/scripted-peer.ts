/**
 * A scripted `/v1/submit` peer for the session tests: a real WebSocket server (ws) on a free port whose
 * answers each test writes (`onFrame`), so reconnects, resends, rate limits and gaps happen exactly when
 * a test wants them. Integration tests against the real `muster server` are in test/client/server.test.ts.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { pack, unpack } from 'msgpackr';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';

export type Frame = Record<string, unknown> & { kind: string; id: number };

export class ScriptedPeer {
  readonly #server: WebSocketServer;
  readonly frames: Frame[] = [];
  readonly authorizations: (string | undefined)[] = [];
  connections = 0;
  /** Upgrades are refused with this status (and body) while set; `times`: only that many, then accepted. */
  refuse: { status: number; body: unknown; times?: number } | undefined;
  refusals = 0;
  /** Answers one frame; `socket.close()` or `socket.terminate()` simulates a lost connection. */
  onFrame: (frame: Frame, peer: ScriptedPeer, socket: WebSocket) => void = () => undefined;

  private constructor(server: WebSocketServer) {
    this.#server = server;
    server.on('connection', (socket, request) => {
      this.connections++;
      this.authorizations.push(request.headers.authorization);
      socket.on('message', (data: Buffer) => {
        const frame = unpack(data) as Frame;
        this.frames.push(frame);
        this.onFrame(frame, this, socket);
      });
    });
  }

  static async start(): Promise<ScriptedPeer> {
    let peer: ScriptedPeer | undefined;
    const server = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      verifyClient: (_info, done) => {
        const refuse = peer?.refuse;
        if (!peer || !refuse) return done(true);
        peer.refusals++;
        if (refuse.times !== undefined && --refuse.times === 0) peer.refuse = undefined;
        done(false, refuse.status, JSON.stringify(refuse.body), { 'Content-Type': 'application/json' });
      },
    });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    peer = new ScriptedPeer(server);
    return peer;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  send(socket: WebSocket, frame: Record<string, unknown>): void {
    socket.send(pack(frame));
  }

  framesOf(kind: string): Frame[] {
    return this.frames.filter((f) => f.kind === kind);
  }

  /** Drops every open connection (as a crashed server would). */
  dropAll(): void {
    for (const socket of this.#server.clients) socket.terminate();
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** An address where nothing listens (a port just freed). */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
