/** The agent's endpoints: the servers as users name them (`http://host:7070`), as `/v1/agent` WebSocket URLs. */
import { parseEndpoints } from '../client/index.js';

export function agentUrls(servers: string | readonly string[]): string[] {
  return parseEndpoints(servers).map((e) => e.submit.replace(/\/v1\/submit$/, '/v1/agent'));
}
