/**
 * A real server and a real agent (real processes) in this process, with an admin client: what the agent
 * tests that need no restart and no second process start from. Everything is stopped at the test's end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Agent, agentUrls } from '../../src/agent/index.js';
import type { MusterClient } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';
import { createLogger } from '../../src/log/index.js';
import { startTestServer, TOKENS } from '../api/helpers.js';
import type { TestServer } from '../api/helpers.js';
import { until } from '../helpers/until.js';

const quiet = createLogger({ name: 'agent-test', level: 'silent' });

export interface InProcessAgent {
  readonly server: TestServer;
  readonly client: MusterClient;
  readonly agent: Agent;
  readonly work: string;
}

/** Node `box` (4 cores, 4 GiB) in site `local`, registered and ready; `graceMs`: the agent's own kill grace. */
export async function inProcessAgent(t: Test, graceMs: number): Promise<InProcessAgent> {
  const server = await startTestServer();
  const work = mkdtempSync(join(tmpdir(), 'muster-agent-work-'));
  const agent = new Agent({ endpoints: agentUrls(server.url), token: TOKENS.agent, name: 'box', site: 'local', capacity: { cpu: 4000, memory: 4096, gpu: 0, extended: {} }, workDir: work, graceMs, log: quiet });
  const client = createClient({ endpoints: server.url, token: TOKENS.admin });
  t.teardown(async () => {
    await client.close();
    await agent.stop();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  });
  await agent.start();
  await until('the node to register', () => client.nodes(), (n) => n.length === 1 && n[0]!.state === 'ready');
  return { server, client, agent, work };
}
