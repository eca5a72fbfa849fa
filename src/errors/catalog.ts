/**
 * The error catalog: every stable error code muster emits, with what it means.
 *
 * Callers test `code`, never the message. Codes never change meaning once released; a new situation gets a
 * new code. Errors that cross a thread or the wire travel as `{ code, message }` (see `toWire`).
 */
export const ErrorCodes = {
  // Input: specs, quantities, names. Reported as problems with a field path, all at once.
  MUSTER_ERR_INVALID_TYPE: 'a field has the wrong type',
  MUSTER_ERR_REQUIRED: 'a required field is missing',
  MUSTER_ERR_UNKNOWN_FIELD: 'a field is not part of the spec (often a typo)',
  MUSTER_ERR_INVALID_QUANTITY: 'a resource quantity cannot be parsed in its unit',
  MUSTER_ERR_INVALID_DURATION: 'a duration cannot be parsed',
  MUSTER_ERR_INVALID_NAME: 'a name, key or label has characters or a shape that is not allowed',
  MUSTER_ERR_INVALID_VALUE: 'a value is outside its allowed set or range',
  MUSTER_ERR_INVALID_SELECTOR: 'a label selector cannot be parsed',
  MUSTER_ERR_LIMIT_EXCEEDED: 'a size limit (tasks, labels, command length, array size, ...) is exceeded',
  MUSTER_ERR_INVALID_SPEC: 'a spec file cannot be read or parsed at all',

  // Resource arithmetic.
  MUSTER_ERR_RESOURCE_UNDERFLOW: 'a subtraction would make a resource dimension negative',
  MUSTER_ERR_RESOURCE_OVERFLOW: 'a resource quantity is beyond the largest representable amount',

  // Placement (src/placement, native/, wasm/): node tables and the solver. The C kernel names the same
  // codes (native/src/placement.c), so the native addon, the wasm module and the TypeScript layer agree.
  MUSTER_ERR_PLACEMENT_INVALID_QUANTITY: 'a placement amount is negative, not an integer, too large, or free exceeds capacity',
  MUSTER_ERR_PLACEMENT_UNKNOWN_NODE: 'a node id is not in the placement table',
  MUSTER_ERR_PLACEMENT_DUPLICATE_NODE: 'a node is already in the placement table, or named twice in one batch',
  MUSTER_ERR_PLACEMENT_TABLE_FULL: 'a node id is past the placement table capacity',
  MUSTER_ERR_PLACEMENT_INVALID_STATE: 'a node state is not one of ready, draining, suspect, lost, down',
  MUSTER_ERR_PLACEMENT_LIMIT: 'a placement table shape or batch is past its limits (jobs, groups, tasks, selectors)',
  MUSTER_ERR_PLACEMENT_OVER_RELEASE: 'a release would give a node more free resources than its capacity',
  MUSTER_ERR_PLACEMENT_LABELS_FULL: 'a placement table has no label bit left to intern a new key=value pair',
  MUSTER_ERR_PLACEMENT_DIMENSIONS_FULL: 'a placement table has no slot left for a new extended resource',
  MUSTER_ERR_PLACEMENT_INVALID_BUFFER: 'a placement buffer or argument has the wrong type, or is truncated or malformed',
  MUSTER_ERR_PLACEMENT_BACKEND_UNAVAILABLE: 'the placement backend asked for (MUSTER_PLACEMENT) cannot be loaded',

  // Scheduling core (src/scheduler).
  MUSTER_ERR_UNKNOWN_JOB: 'no job has this id',
  MUSTER_ERR_JOB_ENDED: 'the job has already ended',
  MUSTER_ERR_NOT_RUNNING: 'the job has no task placed or running, so there is nothing to requeue',
  MUSTER_ERR_UNKNOWN_NODE: 'no node of this name has joined',
  MUSTER_ERR_UNKNOWN_SITE: 'no site of this name is configured',
  MUSTER_ERR_UNKNOWN_QUEUE: 'no queue of this name exists',
  MUSTER_ERR_CONFLICT: 'the request conflicts with what the scheduler holds now (a queue deleted while it still has jobs that have not ended, or child queues); nothing was changed',
  MUSTER_ERR_UNSATISFIABLE: 'no node the cluster knows could ever run the job (too big for every node, no node with its labels or in its sites); refused unless the submitter asks to hold it',
  MUSTER_ERR_NODE_HELD: 'the node is registered by another live connection with another token',

  // Gateway (src/api) and server: the wire protocol's refusals (PROTOCOL.md lists them with their HTTP
  // statuses and WebSocket close codes), and what stops `muster server` from starting.
  MUSTER_ERR_UNAUTHORIZED: 'no bearer token, or a token the server does not know',
  MUSTER_ERR_FORBIDDEN: "the token's role or tenant does not allow this request",
  MUSTER_ERR_BAD_FRAME: 'a frame is not one msgpack map with a string kind (not msgpack, an extension type, a text frame, ...)',
  MUSTER_ERR_UNKNOWN_KIND: "a frame's kind is not one this endpoint knows",
  MUSTER_ERR_FRAME_TOO_LARGE: 'a WebSocket frame or HTTP body is past its size limit',
  MUSTER_ERR_BATCH_TOO_LARGE: 'a submit carries more jobs than one batch may',
  MUSTER_ERR_SPEC_TOO_LARGE: "one job spec's encoded size is past its limit",
  MUSTER_ERR_RATE_LIMITED: "the tenant's request rate is past its token bucket; retry after the time given",
  MUSTER_ERR_SLOW_CONSUMER: "a connection's unsent data passed its bound (it does not read fast enough); it is closed",
  MUSTER_ERR_NOT_FOUND: 'no such route',
  MUSTER_ERR_WATCH_GAP: 'a watch resumes from an event older than the server still keeps',
  MUSTER_ERR_NOT_READY: 'the server is still recovering its state, or is stopping',
  MUSTER_ERR_NOT_LEADER: "this replica is a standby: it does not lead; the refusal carries the leader's URL and epoch when known (send the request there)",
  MUSTER_ERR_BUSY: 'the server did not finish the request within its deadline (overloaded or stalled); whether it took effect is unknown: send it again (a submit with the same idempotency keys is safe to resend)',
  MUSTER_ERR_STALE_EPOCH: 'a command carries an epoch older than the newest the agent has seen (a deposed leader)',
  MUSTER_ERR_LOGS_UNAVAILABLE: 'a task has no output to read now (it has not run, or the agent holding it is not connected)',
  MUSTER_ERR_UWS_FALLBACK: 'uWebSockets.js loaded its slow JavaScript fallback instead of the native server; muster server refuses to run on it',

  // Command line.
  MUSTER_ERR_USAGE: 'the command line is not understood',

  // Client library (src/client): what a client reports when the server does not answer. Errors the server
  // sends keep the server's code.
  MUSTER_ERR_UNREACHABLE: 'no server endpoint could be reached (refused, unresolvable, TLS or upgrade failure) within the connect timeout',
  MUSTER_ERR_REQUEST_TIMEOUT: 'a request to the server got no reply within its timeout',
  MUSTER_ERR_CLIENT_CLOSED: 'the client was closed before the request completed',

  // Actor runtime (src/actors): mailboxes, asks, hosts on worker threads, the admin API, the CPU pool.
  MUSTER_ERR_MAILBOX_FULL: 'an actor mailbox is at its capacity and its overflow policy rejects the message',
  MUSTER_ERR_ASK_TIMEOUT: 'an ask got no reply within its timeout',
  MUSTER_ERR_ACTOR_HOST_DIED: 'the worker thread hosting the actor died before the request completed',
  MUSTER_ERR_ACTOR_STOPPED: 'the actor is stopped or does not exist',
  MUSTER_ERR_ADMIN_TIMEOUT: 'an admin call to an actor host got no answer within its timeout',
  MUSTER_ERR_PRODUCER_FAILED: 'an actor producer module or export cannot be loaded or did not build a definition',
  MUSTER_ERR_SYSTEM_CLOSED: 'the actor system or CPU pool is shut down',
  MUSTER_ERR_POOL_BUSY: 'the CPU pool queue is full',
  MUSTER_ERR_POOL_FAILED: 'a CPU pool worker failed to start or crashed outside a task (fatal for the pool)',

  // Store (src/store): the event log, its snapshots and the data folder, or the log in etcd.
  MUSTER_ERR_FENCED: 'a write carries an epoch older than the newest the store has opened, or (etcd) the election key that is its epoch is gone: a deposed writer; nothing was written',
  MUSTER_ERR_STORE_LOCKED: 'the data folder is in use by another process or another open store (lock file)',
  MUSTER_ERR_WORK_LOCKED: "an agent's work folder is in use by another agent (lock file): two agents would adopt each other's tasks",
  MUSTER_ERR_STORE_CORRUPT: 'the data folder (or the log in etcd) holds damage recovery must not repair silently (not a torn tail)',
  MUSTER_ERR_STORE_CLOSED: 'the store is closed',
  MUSTER_ERR_STORE_FAILED: 'a write or fsync of the log failed, or (etcd) a call to etcd failed past its deadline; the store refuses writes (and the scheduler acknowledges nothing) until reopened',
  MUSTER_ERR_STORE_ENCODE: 'an event or snapshot cannot be encoded as msgpack (symbols, huge bigints, cycles)',
  MUSTER_ERR_HISTORY_TRIMMED: 'the event history no longer starts at seq 1 (retention or compaction dropped the oldest events); the message names the first seq kept',

  // High availability (src/ha): leader election on etcd. The etcd store will use the same code for its calls.
  MUSTER_ERR_ETCD_TIMEOUT: 'an etcd call got no answer within its deadline (etcd unreachable, paused or without quorum)',

  // A bug: an error that is not one of the above. Reported with its message; never expected.
  MUSTER_ERR_INTERNAL: 'an unexpected internal error',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}
