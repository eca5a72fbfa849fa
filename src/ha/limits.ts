/**
 * The election's bounds, each with the reason for its number. The TTL and margin themselves are options
 * (defaults in types.ts); everything here is derived from them or independent of them.
 */

/**
 * Keepalives sent per deadline window (TTL − margin): three in a row may go unanswered before the deadline
 * passes; at the defaults that is one every 375 ms, more often than etcd's own clients (TTL/3).
 */
export const KEEPALIVES_PER_WINDOW = 4;

/**
 * Every this many keepalive ticks the candidate list is read again without waiting for a watch event
 * (1.5 s at the defaults): a broken watch, which the client reconnects with a backoff of up to 30 s, then
 * slows a takeover by this much, not by that backoff.
 */
export const RESYNC_TICKS = 4;

/**
 * Sends of one keepalive tick when the sends fail at once (an error, not a timeout). etcd3 sends each
 * keepalive stream to a random member, and a dead member refuses in milliseconds, so with one of three
 * down a send fails a third of the time, and three failed ticks in a row, about one window in 27, would
 * depose a leader the two live members would have kept. Sent again at once to another random member,
 * a tick fails one time in 27, a window about once in 20,000.
 */
export const SENDS_PER_TICK = 3;

/**
 * A candidate whose key comes first takes the lead only with at least this part of a window left before
 * its deadline; with less (its keepalives have been failing) it waits for its next answered keepalive.
 * Elected on a lease about to lapse, it would be deposed within milliseconds, after the server had begun
 * a takeover for nothing.
 */
export const FRESH_TO_LEAD = 0.5;

/** First delay before joining again (after a deposition or a failed join); doubled per failure, jittered. */
export const REJOIN_BASE_MS = 100;

/** Longest delay between joins: a replica cut off from etcd asks again at least this often. */
export const REJOIN_MAX_MS = 2_000;
