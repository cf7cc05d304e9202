/*
 * log_summary.c - counting repeated log events (see log_summary.h).
 *
 * Keys come from callers and often carry peer-chosen text (addresses, claimed client ids):
 * they are cut to a fixed size and the table is fixed, so no input grows it. One mutex
 * guards the table; summary lines are written under it (a write(2) per line, rare).
 */
#include "core/log_summary.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

struct slot {
    char key[ATT_LOG_SUMMARY_KEY_MAX];
    const char *msg;
    enum att_log_level level;
    int64_t start; /* when the current interval began */
    uint64_t count;
    bool used;
};

/* Events whose key found no slot: counted together. */
struct overflow {
    int64_t start;
    uint64_t count;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[ATT_LOG_SUMMARY_KEYS];
static struct overflow other;
static _Atomic unsigned interval = ATT_LOG_SUMMARY_DEFAULT_INTERVAL;

void att_log_summary_set_interval(unsigned seconds)
{
    atomic_store(&interval, seconds > 0 ? seconds : 1);
}

/* A clock set back also ends an interval, so no key waits for the clock to catch up. */
static bool ended(int64_t start, int64_t now)
{
    return now < start || now - start >= (int64_t)atomic_load(&interval);
}

/* Caller holds the lock. */
static void report(const char *msg, enum att_log_level level, const char *key, uint64_t count,
                   int64_t seconds)
{
    att_log(level, msg, "repeat_key", key != NULL ? json_string(key) : NULL, "repeats",
            json_integer((json_int_t)count), "seconds", json_integer(seconds), NULL);
}

/* End `s`'s interval at `now`: report its count and start another, or forget an idle key. */
static void close_slot(struct slot *s, int64_t now)
{
    if (s->count == 0) {
        memset(s, 0, sizeof(*s));
        return;
    }
    report(s->msg, s->level, s->key, s->count, now > s->start ? now - s->start : 0);
    s->start = now;
    s->count = 0;
}

static void close_other(int64_t now)
{
    if (other.count > 0) {
        report("repeated events of other keys", ATT_LOG_WARN, NULL, other.count,
               now > other.start ? now - other.start : 0);
    }
    other.count = 0;
}

static struct slot *find(const char *key)
{
    for (size_t i = 0; i < ATT_LOG_SUMMARY_KEYS; i++) {
        if (slots[i].used && strcmp(slots[i].key, key) == 0) {
            return &slots[i];
        }
    }
    return NULL;
}

static struct slot *free_slot(void)
{
    for (size_t i = 0; i < ATT_LOG_SUMMARY_KEYS; i++) {
        if (!slots[i].used) {
            return &slots[i];
        }
    }
    return NULL;
}

static void flush_ended(int64_t now)
{
    for (size_t i = 0; i < ATT_LOG_SUMMARY_KEYS; i++) {
        if (slots[i].used && ended(slots[i].start, now)) {
            close_slot(&slots[i], now);
        }
    }
    if (other.count > 0 && ended(other.start, now)) {
        close_other(now);
    }
}

bool att_log_summary_admit(enum att_log_level level, const char *msg, const char *key, int64_t now)
{
    char cut[ATT_LOG_SUMMARY_KEY_MAX];
    size_t n = strnlen(key, sizeof(cut) - 1);
    memcpy(cut, key, n);
    cut[n] = 0;

    bool admitted = false;
    pthread_mutex_lock(&lock);
    struct slot *s = find(cut);
    if (s != NULL && ended(s->start, now)) {
        close_slot(s, now); /* an idle key is forgotten: this event is a first one again */
        s = s->used ? s : NULL;
    }
    if (s != NULL) {
        s->count++;
    } else {
        s = free_slot();
        if (s == NULL) {
            flush_ended(now); /* the table may hold keys nobody flushed */
            s = free_slot();
        }
        if (s != NULL) {
            memcpy(s->key, cut, n + 1);
            s->msg = msg;
            s->level = level;
            s->start = now;
            s->count = 0;
            s->used = true;
            admitted = true;
        } else {
            if (other.count == 0) {
                other.start = now;
            }
            other.count++;
        }
    }
    pthread_mutex_unlock(&lock);
    return admitted;
}

void att_log_summary_flush(int64_t now)
{
    pthread_mutex_lock(&lock);
    flush_ended(now);
    pthread_mutex_unlock(&lock);
}

void att_log_summary_flush_all(int64_t now)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ATT_LOG_SUMMARY_KEYS; i++) {
        if (slots[i].used) {
            close_slot(&slots[i], now);
            memset(&slots[i], 0, sizeof(slots[i]));
        }
    }
    close_other(now);
    pthread_mutex_unlock(&lock);
}
