/**
 * `muster agent`: one node. The link (link.ts) talks to the control plane; the executor (executor/) runs
 * what it is told as real processes. This file only joins the two:
 *
 *   server ──start/kill──▶ link ──▶ executor ──started/ended──▶ link ──▶ server
 *   server ──logs──▶ link ──▶ executor.readLog ──chunks──▶ link ──▶ server
 *
 * On every (re)connection the link registers the node with what the executor runs; attempts the server
 * no longer knows (it replaced them while this node was cut off) are killed without a report.
 */
import type { Logger } from '../log/index.js';
import type { Resources } from '../model/index.js';
import { formatCpu, formatMemory } from '../model/index.js';
import { detectCapacity, Executor } from './executor/index.js';
import type { KillReason } from '../scheduler/index.js';
import type { LogsRequest } from './link.js';
import { AgentLink } from './link.js';

export interface AgentOptions {
  /** `/v1/agent` WebSocket URLs (see `agentUrls`), tried in order. */
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly name: string;
  readonly site: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Default: this machine's cores and memory. */
  readonly capacity?: Resources;
  readonly workDir: string;
  readonly graceMs?: number;
  readonly runAs?: string;
  readonly log: Logger;
}

export class Agent {
  readonly executor: Executor;
  readonly link: AgentLink;
  readonly #name: string;
  readonly #log: Logger;

  constructor(options: AgentOptions) {
    this.#name = options.name;
    this.#log = options.log;
    this.executor = new Executor({
      workDir: options.workDir,
      log: options.log.child({ part: 'executor' }),
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
      ...(options.runAs !== undefined ? { runAs: options.runAs } : {}),
    });
    this.link = new AgentLink({
      endpoints: options.endpoints,
      token: options.token,
      log: options.log.child({ part: 'link' }),
      owner: {
        running: () => this.executor.running().map(({ job, task, attempt, epoch }) => ({ job, task, attempt, epoch })),
        start: (command) => {
          const result = this.executor.start(command);
          if (!result.ok) this.#log.warn({ job: command.job, task: command.task, attempt: command.attempt, code: result.code }, result.message);
        },
        kill: (command) => {
          const reconcile = command.reason === 'reconcile';
          const result = this.executor.kill(command, reconcile ? 'replaced' : (command.reason as KillReason), {
            report: !reconcile,
            ...('epoch' in command ? { epoch: command.epoch, graceMs: command.graceMs } : {}),
          });
          if (!result.ok) this.#log.warn({ job: command.job, task: command.task, attempt: command.attempt, code: result.code }, result.message);
        },
        logs: (request, send) => void this.#logs(request, send),
        registered: (node, info) => {
          this.executor.observeEpoch(info.epoch);
          this.#log.info({ node, epoch: info.epoch, heartbeatMs: info.heartbeatMs }, 'registered');
        },
      },
    });
    this.executor.on('started', (a) => this.link.started(this.#name, a));
    // Only the fields that are set: msgpack would write an undefined one as an extension, which the server refuses.
    this.executor.on('ended', (a) =>
      this.link.ended(this.#name, {
        job: a.job,
        task: a.task,
        attempt: a.attempt,
        outcome: a.outcome,
        ...(a.exitCode !== undefined ? { exitCode: a.exitCode } : {}),
        ...(a.signal !== undefined ? { signal: a.signal } : {}),
        ...(a.reason !== undefined ? { reason: a.reason } : {}),
      }),
    );
    const capacity = options.capacity ?? detectCapacity();
    this.link.addNode({
      name: options.name,
      site: options.site,
      capacity: { cpu: formatCpu(capacity.cpu), memory: formatMemory(capacity.memory), gpu: capacity.gpu, extended: capacity.extended },
      ...(options.labels ? { labels: options.labels } : {}),
    });
  }

  /** Connects (resolves on the first connection; reconnects for as long as the agent runs). */
  start(): Promise<void> {
    return this.link.open();
  }

  /** Kills what runs (SIGTERM, then SIGKILL after the grace period), reports it, and disconnects. */
  async stop(): Promise<void> {
    await this.executor.shutdown();
    // Let the last reports leave before the connection closes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    this.link.close();
  }

  async #logs(request: LogsRequest, send: (data: Uint8Array, eof: boolean) => void): Promise<void> {
    let left = request.maxBytes ?? Infinity;
    try {
      for await (const chunk of this.executor.readLog({ job: request.job, task: request.task, stream: request.stream, offset: request.offset, follow: request.follow, ...(request.attempt !== undefined ? { attempt: request.attempt } : {}) })) {
        send(chunk.length > left ? chunk.subarray(0, left) : chunk, false);
        left -= chunk.length;
        if (left <= 0) break;
      }
    } catch (err) {
      this.#log.warn({ err, job: request.job, task: request.task }, 'a log request failed');
    }
    send(new Uint8Array(0), true);
  }
}
