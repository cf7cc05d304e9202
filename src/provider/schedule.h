/*
 * schedule.h - when a provider's signing keys sign, stop and may be destroyed
 * (docs/operations.md "Signing-key rotation").
 *
 * A provider's keys form a schedule ordered by activate_at (the store's order): each key signs
 * from its activate_at until the next key activates, so exactly one key signs at any time. A
 * key is published in /certs from the moment it exists, which is its lead time before it
 * signs, and until every token it signed has expired: the later of its stop time and the last
 * time a signer noted it might sign with it (used_until: each attestd notes its signing keys
 * at every look, before it signs, so a daemon that could not load the next key keeps the old
 * one alive), plus the longest lifetime of a token it may have signed, plus the leeway
 * relying parties' clocks may lag. Then it is destroyed.
 *
 * Pure functions of the keys' times and `now`: no clock, no store.
 */
#ifndef ATT_PROVIDER_SCHEDULE_H
#define ATT_PROVIDER_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seconds between a daemon's looks at the store's keys (new keys, rotations due, retirements). */
#define ATT_KEY_CHECK_INTERVAL 10
/* How long a look waits for a store another process has locked: the look tries again later,
 * and what is queued behind it (the key worker's signatures) must not wait 5 s meanwhile. */
#define ATT_KEY_LOOK_LOCK_WAIT_MS 250
/* Keys one look makes at most (scheduled rotations; src/provider/upkeep.c). */
#define ATT_KEY_ROTATIONS_PER_LOOK 2
/* Keys a provider may have at once (signing, waiting and retired but still published). */
#define ATT_PROVIDER_KEYS_MAX 8

struct att_key_times {
    int64_t created_at;
    int64_t activate_at;
    int64_t token_lifetime; /* longest lifetime of a token it may have signed */
    int64_t used_until;     /* latest time a signer may have signed with it */
};

enum att_key_state {
    ATT_KEY_WAITING, /* published, signs from activate_at */
    ATT_KEY_SIGNING,
    ATT_KEY_RETIRED, /* published until destroy_at, signs no more */
};

struct att_key_phase {
    enum att_key_state state;
    int64_t stop_at;    /* RETIRED: when the next key took over */
    int64_t destroy_at; /* RETIRED: when no token it signed can still be valid */
};

/*
 * The key that signs at `now`: the last one whose activate_at has come, or the first one when
 * none has (a clock set back must not leave a provider without a key). n must be > 0.
 */
size_t att_key_signing_index(const struct att_key_times *keys, size_t n, int64_t now);

/*
 * The key a process that does not know what attestd has loaded may sign with at `now`
 * (attestctl's test tokens): as att_key_signing_index, among the keys attestd has had one look
 * to publish (created at least ATT_KEY_CHECK_INTERVAL ago); the first key when none has.
 */
size_t att_key_published_index(const struct att_key_times *keys, size_t n, int64_t now);

/* The phase of each of the n (> 0) keys at `now`, into out[0..n). */
void att_key_phases(const struct att_key_times *keys, size_t n, int64_t now, int64_t leeway,
                    struct att_key_phase *out);

/*
 * Whether a scheduled rotation (every `period` seconds, each new key published `lead` seconds
 * before it signs) is due: no key is waiting and the signing key's period ends within `lead`.
 */
bool att_key_rotation_due(const struct att_key_times *keys, size_t n, int64_t now, int64_t period,
                          int64_t lead);

#endif
