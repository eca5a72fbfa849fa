/**
 * Every bound of the gateway, with why it has its value. Each is a default for one field of `GatewayLimits`
 * (a server option, in the config file's `limits:`); PROTOCOL.md lists them for clients.
 */

/**
 * Largest WebSocket frame (and HTTP body). 16 MiB holds a batch of 10,000 jobs of about 1.6 KiB each, more
 * than any sensible batch; a frame past it is refused before it is buffered whole, so one client cannot make
 * the server hold more than this per connection.
 */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Largest HTTP request body: the same budget as a frame (a POST of jobs is the same batch). */
export const MAX_BODY_BYTES = MAX_FRAME_BYTES;

/**
 * Most jobs in one submit. 10,000: big batches amortise the per-frame costs (decode setup, one durable
 * append, one reply) to nothing, and a reply of 10,000 results is still under a megabyte; larger batches
 * would only delay the first acknowledgement.
 */
export const MAX_JOBS_PER_SUBMIT = 10_000;

/**
 * Largest single job spec, in msgpack bytes. 64 KiB: a command may be 64 KiB by itself (the model's
 * `MAX_COMMAND_BYTES`), but a job is stored in every snapshot and log record; larger means a script belongs
 * in a file, not in the spec.
 */
export const MAX_SPEC_BYTES = 64 * 1024;

/**
 * Requests per second per tenant (the token bucket's refill) and its burst (the bucket's size). 1,000/s of
 * batches of up to 10,000 jobs is far beyond the scheduler's rate, so only a runaway client meets it; the
 * burst of 2,000 lets a client reconnect and resubmit its window at once.
 */
export const RATE_PER_SECOND = 1_000;
export const RATE_BURST = 2_000;

/** A submit of N jobs costs 1 + N / JOBS_PER_REQUEST_UNIT requests: a job costs a thousandth of a request. */
export const JOBS_PER_REQUEST_UNIT = 1_000;

/**
 * Unsent bytes per connection before the server disconnects it (close 4008). 64 MiB lets a watcher that is
 * briefly slow (a GC pause, a congested link) catch up, and bounds what one stuck reader can cost the server.
 */
export const MAX_UNSENT_BYTES = 64 * 1024 * 1024;

/** Seconds without a frame or a pong before a connection is closed; uWS pings at about half of it. */
export const IDLE_TIMEOUT_S = 120;

/**
 * Job events the watch window keeps for resuming watches (`from`). About 150 bytes each in memory, so the
 * default costs some 40 MB; at 100,000 jobs per second with a handful of events each, it spans a few
 * hundred milliseconds of a saturated server and hours of a quiet one. Larger for clients that reconnect slowly.
 */
export const WATCH_WINDOW_EVENTS = 262_144;

/**
 * Ended jobs whose tenant and queue the watch hub keeps after `JobEnded`, so events that trail a job's end
 * (the kill of its last attempts) are still attributed. A job's trailing events come within seconds.
 */
export const RECENTLY_ENDED_JOBS = 65_536;

/** Most watches on one connection: each costs a filter check per event. */
export const MAX_WATCHES_PER_CONNECTION = 64;

/** Most job ids in one watch filter. */
export const MAX_WATCH_JOBS = 10_000;

/** Deepest msgpack nesting accepted in a frame: a job spec nests 6 deep inside a submit; 32 is generous. */
export const MAX_FRAME_DEPTH = 32;

/** Longest request id (UTF-8 bytes) and job id a client may send. */
export const MAX_ID_BYTES = 64;

/** Page size of job lists over HTTP: the default, and the most one page may ask for. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1_000;

/** How long an agent waits between SIGTERM and SIGKILL when told to kill an attempt. */
export const KILL_GRACE_MS = 10_000;

/** Most output one `GET /v1/jobs/ID/logs` answers: a client reads on from `muster-next-offset`. */
export const LOG_RESPONSE_BYTES = 1 << 20;

/** Every limit as one object: what `createGateway` takes (each field optional, defaulting to the above). */
export interface GatewayLimits {
  readonly maxFrameBytes: number;
  readonly maxBodyBytes: number;
  readonly maxJobsPerSubmit: number;
  readonly maxSpecBytes: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  readonly maxUnsentBytes: number;
  readonly idleTimeoutS: number;
  readonly watchWindowEvents: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxFrameBytes: MAX_FRAME_BYTES,
  maxBodyBytes: MAX_BODY_BYTES,
  maxJobsPerSubmit: MAX_JOBS_PER_SUBMIT,
  maxSpecBytes: MAX_SPEC_BYTES,
  ratePerSecond: RATE_PER_SECOND,
  rateBurst: RATE_BURST,
  maxUnsentBytes: MAX_UNSENT_BYTES,
  idleTimeoutS: IDLE_TIMEOUT_S,
  watchWindowEvents: WATCH_WINDOW_EVENTS,
};

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as readonly (keyof GatewayLimits)[];
