import type { QueueView } from '../client/index.js';
import { formatResources } from '../model/index.js';
import { listCommand } from './connection.js';
import { amount, renderTable } from './table.js';
import type { Column } from './table.js';

const COLUMNS: readonly Column<QueueView>[] = [
  { header: 'NAME', cell: (q) => q.name },
  { header: 'TENANT', cell: (q) => q.tenant },
  { header: 'WEIGHT', cell: (q) => String(q.weight), right: true },
  { header: 'PRIORITY', cell: (q) => String(q.priority), right: true },
  { header: 'GUARANTEED', cell: guaranteed },
  { header: 'BORROW', cell: (q) => (!q.borrow ? 'no' : q.borrowLimit ? `up to +${limitText(q.borrowLimit)}` : 'yes') },
  { header: 'LIMIT', cell: (q) => (q.limit ? limitText(q.limit) : '-') },
  { header: 'ACTIVE', cell: (q) => String(q.active), right: true },
  { header: 'PENDING', cell: (q) => String(q.pending), right: true },
  { header: 'CPU', cell: (q) => amount('cpu', q.usage), right: true },
  { header: 'MEMORY', cell: (q) => amount('memory', q.usage), right: true },
  { header: 'GPU', cell: (q) => amount('gpu', q.usage), right: true },
];

/** The effective guarantee (`cpu=8 gpu=2`), with the share it comes from (`25% = cpu=8 ...`); `-` for none. */
function guaranteed(q: QueueView): string {
  const g = q.guaranteed;
  const none = g.cpu === 0 && g.memory === 0 && g.gpu === 0 && Object.values(g.extended ?? {}).every((v) => v === 0);
  if (none) return '-';
  const text = formatResources({ cpu: g.cpu, memory: g.memory, gpu: g.gpu, extended: g.extended ?? {} });
  return q.guaranteedShare > 0 ? `${Math.round(q.guaranteedShare * 1000) / 10}% = ${text}` : text;
}

/** A limit as the server keeps it (`cpu=4 gpu=2`), only the capped resources. */
function limitText(limit: Readonly<Record<string, unknown>>): string {
  const l = limit as { cpu?: number; memory?: number; gpu?: number; extended?: Record<string, number> };
  const parts: string[] = [];
  if (typeof l.cpu === 'number') parts.push(`cpu=${amount('cpu', { cpu: l.cpu, memory: 0, gpu: 0 })}`);
  if (typeof l.memory === 'number') parts.push(`memory=${amount('memory', { cpu: 0, memory: l.memory, gpu: 0 })}`);
  if (typeof l.gpu === 'number') parts.push(`gpu=${l.gpu}`);
  for (const [name, v] of Object.entries(l.extended ?? {})) parts.push(`${name}=${v}`);
  return parts.join(' ') || '-';
}

export function queuesTable(queues: readonly QueueView[]): string[] {
  return renderTable(COLUMNS, queues);
}

export const queuesCommand = listCommand({
  name: 'queues',
  summary: 'list queues: weight, priority, guarantee, borrowing, limit, active and pending jobs, usage',
  usage: `usage: muster queues

Lists every queue (nested queues by path: acme/ml is the parent of acme/ml/train) with its fair-share
settings: GUARANTEED is its guarantee in amounts on the cluster as it is now (and the share it comes
from), BORROW whether it may hold more than that when capacity is idle (and at most how much more),
LIMIT the most its subtree may hold. Then its active and pending jobs and the resources its running
tasks use now (CPU, MEMORY, GPU).`,
  options: {},
  key: 'queues',
  fetch: (client) => client.queues(),
  table: queuesTable,
});
