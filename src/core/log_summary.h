/*
 * log_summary.h - rate-limited summaries of repeated log events.
 *
 * Some events repeat as fast as a peer can send them: throttled logins, refused connections.
 * One line each would let that peer fill the disk and bury every other line. Instead the
 * caller names each event with a key (what happened, and from or to whom: "token throttled
 * ip:192.0.2.7") and writes its own line only when att_log_summary_admit says so:
 *
 *   - the first event of a key is admitted: the caller logs it in full;
 *   - the key's further events during the next `interval` seconds are only counted;
 *   - when the interval ends with a count, one line reports it, at the admitted event's level:
 *       {"msg": <msg>, "repeat_key": <key>, "repeats": N, "seconds": S}
 *     (N events over the last S seconds that were not logged one by one) and a new interval
 *     starts; an interval that ends without events forgets the key, so its next event is
 *     admitted (logged in full) again;
 *   - at most ATT_LOG_SUMMARY_KEYS keys are followed at once. The event of a key that finds
 *     no room is still admitted (logged in full) while its `msg` has budget left: a token
 *     bucket per `msg` of ATT_LOG_SUMMARY_UNTRACKED_BURST lines, refilled at
 *     ATT_LOG_SUMMARY_UNTRACKED_RATE per second, so a flood of one kind of event (refused
 *     connections) cannot hide the first occurrence of another (a guesser's token request).
 *     Beyond the budget, events are counted per `msg` and reported as
 *     {"msg": "repeated events of other keys", "of": <msg>, "repeats": N, "seconds": S}.
 * So a key costs at most one line per interval while it repeats, the table at most
 * 2 * ATT_LOG_SUMMARY_KEYS lines per interval, and keys it cannot hold at most
 * ATT_LOG_SUMMARY_UNTRACKED_BURST + ATT_LOG_SUMMARY_UNTRACKED_RATE * interval + 1 lines per
 * interval and `msg` (the callers use a handful of literals), however many events there are.
 *
 * Counts are reported by att_log_summary_flush (the daemon calls it once a second), by the
 * next event of the same key once its interval has ended, and by att_log_summary_flush_all
 * at shutdown. There is one table per process; every function is thread-safe. Keys longer
 * than ATT_LOG_SUMMARY_KEY_MAX - 1 bytes are cut (their counts merge). A key holds no secret:
 * it is logged as it is.
 */
#ifndef ATT_CORE_LOG_SUMMARY_H
#define ATT_CORE_LOG_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"

#define ATT_LOG_SUMMARY_KEYS 1024
#define ATT_LOG_SUMMARY_UNTRACKED_BURST 20 /* full lines per msg for keys without room... */
#define ATT_LOG_SUMMARY_UNTRACKED_RATE 1   /* ...and more per second */
#define ATT_LOG_SUMMARY_MSGS 16            /* msgs budgeted apart; further ones share the last */
#define ATT_LOG_SUMMARY_KEY_MAX 160
#define ATT_LOG_SUMMARY_DEFAULT_INTERVAL 60 /* seconds */

/* Seconds an interval lasts (config key log_summary_interval; 0 means 1). */
void att_log_summary_set_interval(unsigned seconds);

/*
 * Count one event `key` at `now` (seconds, att_time_now()). True when the caller should log
 * it now, in full; false when it was counted for a summary line. `msg` is the "msg" of that
 * summary line and of the caller's own line: it must outlive the process (a string literal).
 */
bool att_log_summary_admit(enum att_log_level level, const char *msg, const char *key, int64_t now);

/* Report the counts of the intervals that have ended by `now`. */
void att_log_summary_flush(int64_t now);

/* Report every count, ended or not, and forget every key (at shutdown). */
void att_log_summary_flush_all(int64_t now);

#endif
