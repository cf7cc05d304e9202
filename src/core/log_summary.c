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

/*
 * Events whose key found no slot, per msg: a budget of full lines (a token bucket), and the
 * count of those beyond it.
 */
struct untracked {
    const char *msg; /* NULL: unused */
    unsigned tokens;
    int64_t refilled; /* when tokens were last added */
    int64_t start;    /* when the current count began */
    uint64_t count;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[ATT_LOG_SUMMARY_KEYS];
static struct untracked others[ATT_LOG_SUMMARY_MSGS];
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
    att_log(level, msg, "repeat_key", json_string(key), "repeats", json_integer((json_int_t)count),
            "seconds", json_integer(seconds), NULL);
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

static void close_other(struct untracked *u, int64_t now)
{
    if (u->count > 0) {
        att_log(ATT_LOG_WARN, "repeated events of other keys", "of", json_string(u->msg), "repeats",
                json_integer((json_int_t)u->count), "seconds",
                json_integer(now > u->start ? now - u->start : 0), NULL);
    }
    u->count = 0;
}

/* The budget of `msg`: its own, else a free one, else the last (shared). */
static struct untracked *untracked_of(const char *msg)
{
    for (size_t i = 0; i < ATT_LOG_SUMMARY_MSGS; i++) {
        if (others[i].msg == NULL || strcmp(others[i].msg, msg) == 0) {
            return &others[i];
        }
    }
    return &others[ATT_LOG_SUMMARY_MSGS - 1];
}

/*
 * An event of a key the table cannot hold: admitted while `msg` has budget (a token bucket,
 * full at first), else counted for the "other keys" line.
 */
static bool admit_untracked(const char *msg, int64_t now)
{
    struct untracked *u = untracked_of(msg);
    if (u->msg == NULL) {
        u->msg = msg;
        u->tokens = ATT_LOG_SUMMARY_UNTRACKED_BURST;
        u->refilled = now;
    }
    if (now > u->refilled) {
        int64_t add = (now - u->refilled) * ATT_LOG_SUMMARY_UNTRACKED_RATE;
        int64_t room = ATT_LOG_SUMMARY_UNTRACKED_BURST - (int64_t)u->tokens;
        u->tokens += (unsigned)(add < room ? add : room);
    }
    u->refilled = now;
    if (u->tokens > 0) {
        u->tokens--;
        return true;
    }
    if (u->count == 0) {
        u->start = now;
    }
    u->count++;
    return false;
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
    for (size_t i = 0; i < ATT_LOG_SUMMARY_MSGS; i++) {
        if (others[i].count > 0 && ended(others[i].start, now)) {
            close_other(&others[i], now);
        }
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
            admitted = admit_untracked(msg, now);
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
    for (size_t i = 0; i < ATT_LOG_SUMMARY_MSGS; i++) {
        close_other(&others[i], now);
    }
    memset(others, 0, sizeof(others));
    pthread_mutex_unlock(&lock);
}
