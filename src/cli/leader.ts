/**
 * `muster leader`: which replica leads. Asks `GET /v1/leader` of each endpoint given (every replica answers
 * it, whatever its role; no leader is followed), prints the leader and each replica's role, and exits 0 only
 * when a leader is known.
 */
import type { ReplicaStatus } from '../client/index.js';
import { knownLeader } from '../client/index.js';
import type { ErrorCode } from '../errors/index.js';
import { MusterError } from '../errors/index.js';
import { CLI_CONNECT_TIMEOUT_MS, clientCommand, printJson } from './connection.js';
import { EXIT_OK } from './io.js';
import type { Column } from './table.js';
import { renderTable } from './table.js';

const COLUMNS: readonly Column<ReplicaStatus>[] = [
  { header: 'ENDPOINT', cell: (s) => s.endpoint },
  { header: 'ROLE', cell: (s) => (s.ok ? s.role : '-') },
  { header: 'REPLICA', cell: (s) => (s.ok ? s.replica : '-') },
  { header: 'LEADER', cell: (s) => (s.ok ? (s.leader ?? 'none known') : '-') },
  { header: 'EPOCH', cell: (s) => (s.ok && s.epoch !== null ? String(s.epoch) : '-'), right: true },
  { header: 'ERROR', cell: (s) => (s.ok ? '' : `${s.code}: ${s.message}`) },
];

export function leaderTable(statuses: readonly ReplicaStatus[]): string[] {
  return renderTable(COLUMNS, statuses);
}

/** Why no leader is known: no replica knows one (an election), or none could be asked (its code). */
function noLeader(statuses: readonly ReplicaStatus[]): MusterError {
  const failed = statuses.filter((s): s is Extract<ReplicaStatus, { ok: false }> => !s.ok);
  const asked = statuses.map((s) => s.endpoint).join(', ');
  if (failed.length === statuses.length && failed[0] !== undefined) {
    return new MusterError(failed[0].code as ErrorCode, `no endpoint could be asked (${failed.map((s) => (s.message.includes(s.endpoint) ? s.message : `${s.endpoint}: ${s.message}`)).join('; ')})`);
  }
  return new MusterError('MUSTER_ERR_NOT_LEADER', `no replica knows a leader (asked ${asked}): an election may be under way; try again in a few seconds`);
}

export const leaderCommand = clientCommand({
  name: 'leader',
  summary: 'which replica leads: the leader, its epoch, and the role of each replica',
  usage: `usage: muster leader

Asks each endpoint given (--server or MUSTER_SERVER: every replica, comma-separated) which replica leads
(GET /v1/leader; every replica answers it, a standby too), then prints the leader's URL and epoch and a
table of the endpoints: ROLE (leader or standby), REPLICA (its own URL), the LEADER it knows of and its
EPOCH, or the ERROR that kept it from answering. Exits 0 when a leader is known, 1 when none is (an
election under way: try again in a few seconds; or no endpoint could be asked).`,
  options: {},
  positionals: { min: 0, max: 0, name: '' },
  async run({ format, client, io }) {
    const statuses = await client.replicaStatus({ timeoutMs: CLI_CONNECT_TIMEOUT_MS });
    const leader = knownLeader(statuses);
    if (format === 'json') {
      printJson(io, { leader: leader?.url ?? null, epoch: leader?.epoch ?? null, replicas: statuses });
    } else {
      if (leader) io.out(`leader: ${leader.url}${leader.epoch !== null ? ` (epoch ${leader.epoch})` : ''}`);
      else io.out('leader: none known');
      io.out('');
      for (const line of leaderTable(statuses)) io.out(line);
    }
    if (!leader) throw noLeader(statuses);
    return EXIT_OK;
  },
});
