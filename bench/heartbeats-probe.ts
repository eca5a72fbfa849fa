/**
 * What the heartbeat benchmark reads from outside the processes it measures: the control plane's own
 * counters (`GET /metrics`, `GET /v1/nodes`, with an admin token) and, from /proc (Linux), the CPU time a
 * process has used and the bytes it has written.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** An HTTP request to the server under test that takes longer than this is a failure, not a slow sample. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A scrape the server answers 503 `MUSTER_ERR_BUSY` (its node listing did not come in time: a server
 * saturated by a fleet) is asked again, after the `retryAfterMs` it gives, up to this many times in all.
 */
const SCRAPE_ATTEMPTS = 5;

/** How often `until` looks again: often enough not to add to a wait, rarely enough not to load the server. */
const POLL_MS = 100;

/** Clock ticks per second of the CPU times in /proc/PID/stat (`getconf CLK_TCK`; 100 on most Linux). */
export const CLOCK_TICKS: number = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User plus system CPU seconds a process (every thread of it) has used so far, from /proc/PID/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: count fields after its closing one, where
  // the state (field 3) comes first, so utime (field 14) and stime (field 15) are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Bytes a process has handed to write(2) and writev(2) so far (sockets and pipes included), from /proc/PID/io. */
export function processWrittenBytes(pid: number): number {
  const match = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!match) throw new Error(`/proc/${pid}/io has no wchar line`);
  return Number(match[1]);
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs` saying what it waited for. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = POLL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A scrape of `/metrics`: each sample by its name with labels as written (`muster_nodes{state="ready"}`). */
export class MetricsScrape {
  readonly #samples = new Map<string, number>();

  constructor(text: string) {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      this.#samples.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
  }

  /** A sample's value; 0 when the server has not written it (a counter never incremented). */
  value(name: string): number {
    return this.#samples.get(name) ?? 0;
  }

  /** The sum over the label sets of a metric that hold every pair of `labels` (whatever order they are written in). */
  matching(metric: string, labels: Readonly<Record<string, string>>): number {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    let sum = 0;
    for (const [name, value] of this.#samples) {
      if (!name.startsWith(`${metric}{`)) continue;
      const set = name.slice(metric.length + 1, -1).split(',');
      if (pairs.every((p) => set.includes(p))) sum += value;
    }
    return sum;
  }

  /** The sum over every label set of a metric (`muster_rejections_total`). */
  total(metric: string): number {
    let sum = 0;
    for (const [name, value] of this.#samples) if (name === metric || name.startsWith(`${metric}{`)) sum += value;
    return sum;
  }
}

/** A refused request to the server under test: its status and, for an API error, its code and retry hint. */
export class ProbeError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(path: string, status: number, body: string) {
    super(`GET ${path}: ${status} ${body}`);
    this.status = status;
    let parsed: { code?: unknown; retryAfterMs?: unknown } = {};
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      // not an API error body
    }
    this.code = typeof parsed.code === 'string' ? parsed.code : undefined;
    this.retryAfterMs = typeof parsed.retryAfterMs === 'number' ? parsed.retryAfterMs : undefined;
  }
}

/** A scrape and when it was taken: the midpoint of the request that the server answered. */
export interface TimedScrape {
  readonly at: number;
  readonly scrape: MetricsScrape;
}

export interface NodeView {
  readonly name: string;
  readonly site: string;
  readonly state: string;
}

/** The control plane as an admin sees it over HTTP. */
export class ControlPlaneProbe {
  readonly #url: string;
  readonly #token: string;

  constructor(url: string, adminToken: string) {
    this.#url = url;
    this.#token = adminToken;
  }

  async #get(path: string): Promise<Response> {
    const res = await fetch(new URL(path, this.#url), { headers: { authorization: `Bearer ${this.#token}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!res.ok) throw new ProbeError(path, res.status, await res.text());
    return res;
  }

  async metrics(): Promise<MetricsScrape> {
    return new MetricsScrape(await (await this.#get('/metrics')).text());
  }

  /** A scrape timed by the request the server answered; a busy server is asked again (SCRAPE_ATTEMPTS). */
  async timedMetrics(): Promise<TimedScrape> {
    for (let attempt = 1; ; attempt++) {
      const sent = performance.now();
      try {
        const scrape = await this.metrics();
        return { at: (sent + performance.now()) / 2, scrape };
      } catch (err) {
        if (!(err instanceof ProbeError) || err.code !== 'MUSTER_ERR_BUSY' || attempt === SCRAPE_ATTEMPTS) throw err;
        await sleep(err.retryAfterMs ?? POLL_MS);
      }
    }
  }

  /** Nodes in `state` (`GET /v1/nodes?state=`). */
  async nodes(state: string): Promise<readonly NodeView[]> {
    const body = (await (await this.#get(`/v1/nodes?state=${encodeURIComponent(state)}`)).json()) as { nodes: NodeView[] };
    return body.nodes;
  }

  /** Waits until `nodes` nodes have a connected agent and are ready, and heartbeats are coming in. */
  async fleetReady(nodes: number, timeoutMs: number): Promise<MetricsScrape> {
    const first = await until(`${nodes} nodes connected and ready`, timeoutMs, async () => {
      const m = (await this.timedMetrics()).scrape;
      return m.value('muster_agent_nodes') === nodes && m.value('muster_nodes{state="ready"}') === nodes ? m : undefined;
    });
    const before = first.value('muster_heartbeats_total');
    return until('heartbeats to come in', timeoutMs, async () => {
      const m = (await this.timedMetrics()).scrape;
      return m.value('muster_heartbeats_total') > before ? m : undefined;
    });
  }
}
