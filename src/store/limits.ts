/**
 * Every bound of the embedded store, with why it has its value. Options may override the segment size, the
 * group-commit bounds and the history's size (tests use small segments; the fsync-per-event baseline uses a
 * zero window); the record limit is part of the file format.
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
