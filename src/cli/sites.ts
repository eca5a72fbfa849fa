import type { SiteView } from '../client/index.js';
import { listCommand } from './connection.js';
import { renderTable, usage } from './table.js';
import type { Column } from './table.js';

const COLUMNS: readonly Column<SiteView>[] = [
  { header: 'NAME', cell: (s) => s.name },
  { header: 'NODES', cell: (s) => String(s.nodes), right: true },
  { header: 'READY', cell: (s) => String(s.ready), right: true },
  { header: 'CPU', cell: (s) => usage('cpu', s.allocated, s.capacity), right: true },
  { header: 'MEMORY', cell: (s) => usage('memory', s.allocated, s.capacity), right: true },
  { header: 'GPU', cell: (s) => usage('gpu', s.allocated, s.capacity), right: true },
];

export function sitesTable(sites: readonly SiteView[]): string[] {
  return renderTable(COLUMNS, sites);
}

export const sitesCommand = listCommand({
  name: 'sites',
  summary: 'list sites: nodes, ready nodes, allocated/capacity',
  usage: `usage: muster sites

Lists every site with its nodes, how many are ready, and what is allocated of its capacity.`,
  options: {},
  key: 'sites',
  fetch: (client) => client.sites(),
  table: sitesTable,
});
