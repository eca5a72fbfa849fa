import type { NodeView } from '../client/index.js';
import { listCommand } from './connection.js';
import { renderTable, usage } from './table.js';
import type { Column } from './table.js';

const COLUMNS: readonly Column<NodeView>[] = [
  { header: 'NAME', cell: (n) => n.name },
  { header: 'SITE', cell: (n) => n.site },
  { header: 'STATE', cell: stateCell },
  { header: 'CPU', cell: (n) => usage('cpu', n.allocated, n.capacity), right: true },
  { header: 'MEMORY', cell: (n) => usage('memory', n.allocated, n.capacity), right: true },
  { header: 'GPU', cell: (n) => usage('gpu', n.allocated, n.capacity), right: true },
  { header: 'ALLOCS', cell: (n) => String(Array.isArray(n.allocations) ? n.allocations.length : n.allocations), right: true },
  { header: 'LABELS', cell: (n) => Object.entries(n.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') },
];

/** The state, and a drain the state does not show (a drained node that is lost) or its deadline. */
function stateCell(n: NodeView): string {
  if (!n.drain) return n.state;
  const state = n.state === 'draining' ? 'draining' : `${n.state},drained`;
  return n.drain.deadline === null ? state : `${state} until ${new Date(n.drain.deadline).toISOString()}`;
}

export function nodesTable(nodes: readonly NodeView[]): string[] {
  return renderTable(COLUMNS, nodes);
}

export const nodesCommand = listCommand({
  name: 'nodes',
  summary: 'list nodes: site, state, allocated/capacity, labels',
  usage: `usage: muster nodes [--site SITE] [--state STATE]

Lists nodes with what is allocated of their capacity (CPU, MEMORY, GPU as allocated/capacity), their
allocations and labels.
  --state STATE   ready, draining, suspect, lost or down
A drained node shows draining (or its liveness state and drained, e.g. lost,drained), with the time its
drain's deadline passes if it has one (muster node drain).`,
  options: {
    site: { type: 'string' },
    state: { type: 'string' },
  },
  key: 'nodes',
  fetch: (client, values) => client.nodes({ ...(values.site !== undefined ? { site: values.site } : {}), ...(values.state !== undefined ? { state: values.state } : {}) }),
  table: nodesTable,
});
