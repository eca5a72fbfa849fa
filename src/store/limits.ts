/**
 * Every bound of the stores, with why it has its value: the embedded store's first, the etcd store's after.
 * Options may override the segment size, the group-commit bounds, the history's size and the etcd store's
 * bytes per transaction (tests use small ones; the benchmark's fsync-per-append baseline uses a zero window
 * and groups of one append); the record limit is part of the file format.
 */

/**
 * A segment rolls (a new file starts) once it holds this many bytes. 64 MiB: big enough that a busy day
 * makes a few hundred files, not tens of thousands; small enough that `compact()` frees space soon after a
 * snapshot and that scanning the last segment on open (the only one whose tail may be torn) takes tens of
 * milliseconds.
 */
export const SEGMENT_BYTES_LIMIT = 64 * 1024 * 1024;

/**
 * The most bytes of archived segments `compact()` keeps in `history/` for replay; the oldest go first. 1 GiB:
 * at about 250 bytes per event, some four million events — weeks of a busy cluster's history, enough to
 * replay what led to today — while staying a small fraction of a server's disk. 0 keeps no history.
 */
export const HISTORY_BYTES_LIMIT = 1024 * 1024 * 1024;

/**
 * How long the first append of a group waits for others before the group is written, when no write is in
 * flight. 2 ms: one fsync on an SSD costs about 0.5–2 ms, so waiting about as long as one fsync at most
 * doubles the latency of a lone append while letting a burst share one fsync. (While a write is in flight,
 * appends gather anyway and go out as soon as it ends.)
 */
export const GROUP_COMMIT_WINDOW_MS = 2;

/**
 * A group is sealed (written without waiting for the window) once it holds this many bytes. 1 MiB: at
 * 250 bytes per event that is 4,000 events, enough to amortise one fsync over; bigger writes gain little
 * and make the torn tail a crash can leave (and the resync scan on open) longer.
 */
export const GROUP_COMMIT_MAX_BYTES = 1024 * 1024;

/** A group is sealed once it holds this many events (tiny events would otherwise make huge groups). */
export const GROUP_COMMIT_MAX_EVENTS = 8192;

/**
 * The largest encoded event (one record's payload). 16 MiB: far above any real event (they are hundreds of
 * bytes), and low enough that a damaged length field read as a huge number is recognised as damage instead
 * of making recovery allocate gigabytes. Part of the format: a record above it is treated as damaged.
 */
export const RECORD_PAYLOAD_LIMIT = 16 * 1024 * 1024;

/** Epochs are stored as unsigned 32-bit integers in each record. */
export const EPOCH_LIMIT = 0xffff_ffff;

// ---- The etcd store (etcd-store.ts) and its follower (etcd-follower.ts) ----

/**
 * The most bytes of values one etcd transaction carries (a log batch key, a snapshot chunk). etcd refuses a
 * request above `--max-request-bytes`, 1.5 MiB by default; 1 MiB of values leaves half a MiB for keys, the
 * compares and gRPC framing. At about 250 bytes per event a full batch is some 4,000 events, as many as one
 * embedded group. One event must fit in one batch: a bigger one is refused with MUSTER_ERR_LIMIT_EXCEEDED.
 */
export const ETCD_TXN_VALUE_BYTES = 1024 * 1024;

/**
 * How long the first append of a batch waits for others when no transaction is in flight. 2 ms: one etcd
 * transaction on a three-member cluster costs a round trip to the leader, a raft round to a quorum and an
 * fsync on each (1–5 ms on SSDs), so waiting about as long as the cheapest one at most doubles a lone
 * append's latency while a burst shares one transaction. (While one is in flight appends gather anyway.)
 */
export const ETCD_COMMIT_WINDOW_MS = 2;

/**
 * The deadline of one etcd call (range, txn, compaction), all its attempts included. 5 s: a healthy cluster
 * answers in milliseconds and elects a new leader within a few election timeouts (1 s each by default), so
 * 5 s covers a leader change with room to spare; past it the cluster is unavailable for this process and
 * the operation fails (MUSTER_ERR_STORE_FAILED) instead of hanging.
 */
export const ETCD_CALL_DEADLINE_MS = 5000;

/**
 * The deadline of one attempt of a call; an attempt that fails for a reason worth retrying (a member
 * unavailable, a deadline, a leader change) is made again within `ETCD_CALL_DEADLINE_MS`. 2 s: a proposal
 * forwarded to a leader that dies is never answered (etcd gives up on it after 5 s plus two election
 * timeouts), so waiting the whole call's deadline on it would leave no time to ask again through the new
 * leader. Every write of the store may be made twice (see etcd-calls.ts).
 */
export const ETCD_ATTEMPT_DEADLINE_MS = 2000;

/** The pause between two attempts of a call: 100 ms, a few heartbeats of a loaded cluster. */
export const ETCD_RETRY_PAUSE_MS = 100;

/**
 * Keys one range read asks for with their values. 3: a value is at most `ETCD_TXN_VALUE_BYTES` (1 MiB), so
 * three stay below gRPC's default 4 MiB limit on a received message, which a bigger response breaks (and the
 * etcd3 client, which is the caller's, would retry it and open its circuit breakers). etcd cannot bound a
 * response by bytes, and a key's size is not known before it is read, so the count is what bounds it.
 */
export const ETCD_KEYS_PER_READ = 3;

/**
 * Range reads with values in flight at once. 8: 24 keys per round trip, at most 24 MiB of responses held,
 * so 100,000 small batches (a snapshot interval's worth of lone appends) read in some 4,000 round trips.
 */
export const ETCD_READS_IN_FLIGHT = 8;

/**
 * Keys one keys-only listing returns (the reader lists the keys first, then fetches their values
 * `ETCD_KEYS_PER_READ` at a time). 240: a key and its revisions are under a hundred bytes, and ten rounds of
 * `ETCD_READS_IN_FLIGHT` reads follow each listing.
 */
export const ETCD_LIST_KEYS = 240;

/**
 * Keys deleted by one compaction transaction. 1,000: a delete of a key range is one request whatever the
 * count, but etcd applies a transaction in one step of its apply loop; a thousand keys keep that step short
 * (milliseconds) so compaction never stalls the appends beside it.
 */
export const ETCD_COMPACT_KEYS_PER_TXN = 1000;

/**
 * How long a follower's watch may be silent before the follower asks it for progress; a progress request
 * unanswered within `ETCD_CALL_DEADLINE_MS` then counts as a dead stream (a paused member holds its sockets
 * and answers nothing), and the follower reads the log and watches again. 2 s: a dead member is noticed
 * within 7 s, while an idle log costs one small message every 2 s.
 */
export const ETCD_WATCH_IDLE_MS = 2000;

/**
 * The longest pause between a follower's attempts after a failed read or watch (it doubles from 50 ms up to
 * this). 1 s: an etcd outage is retried every second, not hammered; a follower is back within a second of
 * the cluster.
 */
export const ETCD_RETRY_MAX_MS = 1000;
