import type { QueueView } from '../client/index.js';
import { listCommand } from './connection.js';
import { amount, renderTable } from './table.js';
import type { Column } from './table.js';

const COLUMNS: readonly Column<QueueView>[] = [
  { header: 'NAME', cell: (q) => q.name },
  { header: 'TENANT', cell: (q) => q.tenant },
  { header: 'WEIGHT', cell: (q) => String(q.weight), right: true },
  { header: 'PRIORITY', cell: (q) => String(q.priority), right: true },
  { header: 'GUARANTEED', cell: (q) => `${Math.round(q.guaranteedShare * 1000) / 10}%`, right: true },
  { header: 'BORROW', cell: (q) => (q.borrow ? 'yes' : 'no') },
  { header: 'ACTIVE', cell: (q) => String(q.active), right: true },
  { header: 'PENDING', cell: (q) => String(q.pending), right: true },
  { header: 'CPU', cell: (q) => amount('cpu', q.usage), right: true },
  { header: 'MEMORY', cell: (q) => amount('memory', q.usage), right: true },
  { header: 'GPU', cell: (q) => amount('gpu', q.usage), right: true },
];

export function queuesTable(queues: readonly QueueView[]): string[] {
  return renderTable(COLUMNS, queues);
}

export const queuesCommand = listCommand({
  name: 'queues',
  summary: 'list queues: weight, priority, guaranteed share, active and pending jobs, usage',
  usage: `usage: muster queues

Lists every queue with its fair-share settings, its active and pending jobs and the resources its
running tasks use now (CPU, MEMORY, GPU).`,
  options: {},
  key: 'queues',
  fetch: (client) => client.queues(),
  table: queuesTable,
});
