/**
 * Where the logs route reads an attempt's output from (PROTOCOL.md, `GET /v1/jobs/ID/logs`): a live attempt
 * from the agent of its node; an ended one from the control plane's copy when that copy is whole (nothing
 * was cut) or the agent is not connected, else from the agent, and from the copy if the agent cannot answer.
 * When neither can, the refusal says why: the agent had not shipped it, the job was retired (its copy went
 * with it), or this server keeps no copies.
 */
import type { AgentHub } from './agent-hub.js';
import { LOG_RESPONSE_BYTES } from './limits.js';
import type { KeptOutput, OutputKeeper, OutputStream } from './output-keeper.js';

export interface OutputReadRequest {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
  readonly stream: OutputStream;
  readonly offset: number;
  /** The node the attempt ran (or runs) on. */
  readonly node: string;
  /** The attempt is placed or running. */
  readonly live: boolean;
  /** The job has left the live state: its copy is gone. */
  readonly retired: boolean;
}

/** A piece read (with its response headers), or why nothing could be. */
export type OutputRead = { readonly ok: true; readonly data: Uint8Array; readonly headers: Readonly<Record<string, string>> } | { readonly ok: false; readonly message: string };

function fromCopy(r: OutputReadRequest, kept: KeptOutput): OutputRead {
  const start = Math.max(r.offset, kept.from);
  return {
    ok: true,
    data: kept.data,
    headers: { 'muster-next-offset': String(start + kept.data.length), 'muster-source': 'control-plane', 'muster-output-size': String(kept.size), 'muster-output-from': String(kept.from) },
  };
}

/** Why an ended attempt's output has no copy here. */
function noCopy(r: OutputReadRequest, keeper: OutputKeeper | undefined): string {
  if (r.retired) return "the job was retired from the live state, and the control plane's copy of its output with it";
  if (!keeper || keeper.keepBytes === 0) return 'this server keeps no copies of output (output.keepBytes is 0)';
  return "the control plane holds no copy of it: its agent has not shipped it (it ships ended attempts' output in the background, and again when it reconnects; an agent lost for good never will)";
}

export async function readOutput(r: OutputReadRequest, agents: AgentHub, keeper: OutputKeeper | undefined): Promise<OutputRead> {
  const copy = r.live || r.retired ? undefined : keeper;
  const kept = copy ? await copy.read(r, r.offset, LOG_RESPONSE_BYTES) : undefined;
  if (kept && (kept.from === 0 || !agents.connected(r.node))) return fromCopy(r, kept);
  const fetched = await agents.fetchLogs(r.node, { job: r.job, task: r.task, attempt: r.attempt, stream: r.stream, offset: r.offset, maxBytes: LOG_RESPONSE_BYTES });
  if (!('error' in fetched)) return { ok: true, data: fetched.data, headers: { 'muster-next-offset': String(r.offset + fetched.data.length), 'muster-source': 'agent' } };
  if (kept) return fromCopy(r, kept);
  return { ok: false, message: r.live ? fetched.error : `${fetched.error}; ${noCopy(r, keeper)}` };
}
