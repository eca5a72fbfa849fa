/**
 * The gateway (src/api). Cases, in run order:
 * - decode-validate and its baselines (bench/gateway-decode.ts): the per-job CPU work of `/v1/submit` on
 *   one core, no sockets.
 * End-to-end cases over real WebSockets (e2e-batch-*, ack-p50/p99) are added by the client's benchmark.
 */
import { activeBackend } from '../src/placement/index.js';
import { decodeValidateCases } from './gateway-decode.js';
import { defineBenchmark } from './lib/index.js';

export default defineBenchmark({
  name: 'gateway',
  async run(ctx) {
    ctx.env({ backend: activeBackend(), code: 'dist (tsc output)' });
    await decodeValidateCases(ctx);
  },
});
