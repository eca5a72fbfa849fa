/**
 * The gateway (src/api). Cases, in run order:
 * - decode-validate and its baselines (bench/gateway-decode.ts): the per-job CPU work of `/v1/submit` on
 *   one core, no sockets.
 * - accept-batch-1/100/1000, ack-p50, ack-p99 (bench/gateway-accept.ts): jobs durably acknowledged per second
 *   by a real `muster server` process, driven over WebSockets by the client library in a load-generator
 *   process (bench/gateway-load.ts), and the ack latency of frames sent at half that rate.
 */
import { activeBackend } from '../src/placement/index.js';
import { decodeValidateCases } from './gateway-decode.js';
import { acceptCases } from './gateway-accept.js';
import { defineBenchmark, MUSTER_PROCESS, RUNNER } from './lib/index.js';

export default defineBenchmark({
  name: 'gateway',
  measures: [...MUSTER_PROCESS, 'bench/gateway*', 'bench/load-generator.ts', 'bench/submit-throughput.ts', 'bench/workloads', 'test/client/server-process.ts', ...RUNNER],
  async run(ctx) {
    ctx.env({ backend: activeBackend(), code: 'dist (tsc output)' });
    await decodeValidateCases(ctx);
    await acceptCases(ctx);
  },
});
