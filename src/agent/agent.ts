/**
 * `muster agent`: one node. The link (link.ts) talks to the control plane; the executor (executor/) runs
 * what it is told as real processes, each under a shim, and journals them. This file joins the two:
 *
 *   server ──start/kill──▶ link ──▶ executor ──started/ended──▶ link ──▶ server ──acked──▶ journal entry gone
 *   server ──logs──▶ link ──▶ executor.readLog ──chunks──▶ link ──▶ server
 *   ended ──▶ outbox ──▶ shipper ──output pieces──▶ link ──▶ server (its copy) ──output-stored──▶ outbox entry gone
 *   contact (pong, any frame) ──▶ fence ──▶ lease file (the shims' fence) / expired: executor.fence
 *
 * `start` first recovers the previous agent's attempts from the journal (adopting those still running,
 * collecting the ends the server has not acknowledged) and only then connects, so the first `register`
 * carries all of it. On every (re)connection the link registers the node with what the executor runs and
 * the ends not yet acknowledged; attempts the server no longer holds here are killed without a report.
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from '../log/index.js';
import type { FolderLock } from '../store/index.js';
import { acquireFolderLock } from '../store/index.js';
import type { Resources } from '../model/index.js';
import { formatCpu, formatMemory } from '../model/index.js';
import type { KillReason } from '../scheduler/index.js';
import type { AttemptEnded } from './executor/index.js';
import { detectCapacity, Executor } from './executor/index.js';
import type { EndReport, LogsRequest } from './link.js';
import { AgentLink } from './link.js';
import { OutputShipper } from './output-shipper.js';
import type { ShimKind } from './shim/index.js';
import { LeaseFile, readLease } from './shim/index.js';

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
  /** Which shim supervises attempts (default: `MUSTER_SHIM`, else native when built, else node). */
  readonly shim?: ShimKind;
  readonly log: Logger;
}

/** How long a stopping agent waits for the server to acknowledge the last ends (the journal keeps any it did not). */
const STOP_ACK_WAIT_MS = 1_000;
/**
 * How long a stopping agent ships the output of what it killed (the outbox keeps the rest for its next
 * start): 2 s is several MiB on any network a node should be on, and a stop that hangs longer holds up a
 * service manager's restart.
 */
const STOP_SHIP_WAIT_MS = 2_000;

export class Agent {
  readonly executor: Executor;
  readonly link: AgentLink;
  readonly #name: string;
  readonly #log: Logger;
  readonly #lease: LeaseFile;
  readonly #workDir: string;
  readonly #shipper: OutputShipper;
  #lock: FolderLock | undefined;
  #started: Promise<void> | undefined;

  constructor(options: AgentOptions) {
    this.#name = options.name;
    this.#log = options.log;
    this.#workDir = options.workDir;
    this.executor = new Executor({
      workDir: options.workDir,
      log: options.log.child({ part: 'executor' }),
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
      ...(options.runAs !== undefined ? { runAs: options.runAs } : {}),
      ...(options.shim !== undefined ? { shim: options.shim } : {}),
    });
    this.#lease = new LeaseFile(this.executor.leasePath, options.log);
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
          this.#shipper.registered(info.outputKeepBytes);
          this.#log.info({ node, ...info }, info.fenceMs === undefined ? 'registered (the server sets no fence)' : 'registered');
        },
        // The journal lets an attempt go only once its outbox entry is on disk (output-shipper.ts).
        acknowledged: (_node, attempts) => void this.#shipper.written(attempts).then(() => this.executor.acknowledged(attempts)),
        fenced: ({ fenceMs, silentMs }) => {
          const n = this.executor.fence(`fenced: no contact with the control plane for ${silentMs} ms (the fence is ${fenceMs} ms)`);
          this.#log.error({ attempts: n, fenceMs, silentMs }, 'fenced: every attempt was killed; their ends go to the server once it is back');
        },
        lease: (lease) => this.#lease.write(lease),
      },
    });
    this.executor.on('started', (a) => this.link.started(this.#name, a));
    this.#shipper = new OutputShipper({
      workDir: options.workDir,
      node: options.name,
      path: (ref, stream) => this.executor.logPath(ref, stream),
      send: (node, piece) => this.link.output(node, piece),
      log: options.log.child({ part: 'output' }),
    });
    this.executor.on('ended', (a) => this.#ended(a));
    const capacity = options.capacity ?? detectCapacity();
    this.link.addNode({
      name: options.name,
      site: options.site,
      capacity: { cpu: formatCpu(capacity.cpu), memory: formatMemory(capacity.memory), gpu: capacity.gpu, extended: capacity.extended },
      ...(options.labels ? { labels: options.labels } : {}),
    });
  }

  /**
   * Locks the work folder (one agent per folder: `MUSTER_ERR_WORK_LOCKED` while another holds it), recovers
   * the previous agent's attempts (once), then connects. Resolves on the first connection; the link keeps
   * trying (and reconnecting) for as long as the agent runs.
   */
  start(): Promise<void> {
    this.#started ??= (async () => {
      await mkdir(this.#workDir, { recursive: true });
      this.#lock = await acquireFolderLock(this.#workDir, this.#log, { code: 'MUSTER_ERR_WORK_LOCKED', folder: 'agent work folder' });
      const lease = await readLease(this.executor.leasePath);
      await this.#shipper.recover();
      for (const end of await this.executor.recover()) this.#ended(end);
      await this.link.open(lease);
    })();
    return this.#started;
  }

  /** Attempts whose output waits to be shipped to the control plane. */
  get outputPending(): number {
    return this.#shipper.pending;
  }

  /** Kills what runs (SIGTERM, then SIGKILL after the grace period), reports it, ships what output it can in a bounded time, and disconnects. */
  async stop(): Promise<void> {
    await this.executor.shutdown();
    await Promise.all([this.link.drained(STOP_ACK_WAIT_MS), this.#shipper.drained(STOP_SHIP_WAIT_MS)]);
    // Closing the link answers a piece still in flight (`disconnected`), so the shipper stops at once.
    const shipping = this.#shipper.stop();
    this.link.close();
    await shipping;
    await this.#lease.settled();
    await this.#lock?.release();
    this.#lock = undefined;
  }

  /** An attempt ended (or was found ended at start): reported, and queued for shipping its output. */
  #ended(a: AttemptEnded): void {
    this.link.ended(this.#name, endReport(a));
    void this.#shipper.add(a);
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

/** An executor end as the wire carries it: only the fields that are set (msgpack would write an undefined one as an extension, which the server refuses). */
function endReport(a: AttemptEnded): EndReport {
  return {
    job: a.job,
    task: a.task,
    attempt: a.attempt,
    outcome: a.outcome,
    ...(a.exitCode !== undefined ? { exitCode: a.exitCode } : {}),
    ...(a.signal !== undefined ? { signal: a.signal } : {}),
    ...(a.reason !== undefined ? { reason: a.reason } : {}),
  };
}
