/*
 * memo.c - memoized pure TPM verification steps (memo.h).
 */
#include "evidence/tpm/memo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

#define AK_SLOTS 256   /* AKs: one per machine attesting */
#define CERT_SLOTS 256 /* AK certificates (with their chains) */

static struct {
    pthread_mutex_t lock;
    uint8_t area_hash[AK_SLOTS][32];
    char pub_hash[AK_SLOTS][45];
    EVP_PKEY *pkey[AK_SLOTS]; /* reachable until exit, by design */
} ak_memo = {PTHREAD_MUTEX_INITIALIZER, {{0}}, {{0}}, {NULL}};

struct att_tpm_cert_memo {
    pthread_mutex_t lock;
    bool used[CERT_SLOTS];
    uint8_t key[CERT_SLOTS][32];
    int64_t from[CERT_SLOTS], until[CERT_SLOTS];
};

/* A slot from the first bytes of a SHA-256. */
static size_t slot_of(const uint8_t *h, size_t slots)
{
    return ((size_t)h[0] << 8 | h[1]) % slots;
}

bool att_tpm_memo_ak_get(const uint8_t area_hash[32], EVP_PKEY **pkey, char pub_hash[45])
{
    size_t s = slot_of(area_hash, AK_SLOTS);
    bool hit = false;
    pthread_mutex_lock(&ak_memo.lock);
    if (ak_memo.pkey[s] != NULL && memcmp(ak_memo.area_hash[s], area_hash, 32) == 0 &&
        EVP_PKEY_up_ref(ak_memo.pkey[s]) == 1) {
        *pkey = ak_memo.pkey[s];
        memcpy(pub_hash, ak_memo.pub_hash[s], 45);
        hit = true;
    }
    pthread_mutex_unlock(&ak_memo.lock);
    att_metric_cache("tpm_ak", hit);
    return hit;
}

void att_tpm_memo_ak_put(const uint8_t area_hash[32], EVP_PKEY *pkey, const char pub_hash[45])
{
    size_t s = slot_of(area_hash, AK_SLOTS);
    if (EVP_PKEY_up_ref(pkey) != 1) {
        return;
    }
    pthread_mutex_lock(&ak_memo.lock);
    EVP_PKEY *old = ak_memo.pkey[s];
    ak_memo.pkey[s] = pkey;
    memcpy(ak_memo.area_hash[s], area_hash, 32);
    memcpy(ak_memo.pub_hash[s], pub_hash, 45);
    pthread_mutex_unlock(&ak_memo.lock);
    EVP_PKEY_free(old);
}

struct att_tpm_cert_memo *att_tpm_cert_memo_new(void)
{
    struct att_tpm_cert_memo *m = calloc(1, sizeof(*m));
    if (m != NULL && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        m = NULL;
    }
    return m;
}

void att_tpm_cert_memo_free(struct att_tpm_cert_memo *m)
{
    if (m != NULL) {
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
}

bool att_tpm_cert_memo_valid(struct att_tpm_cert_memo *m, const uint8_t key[32], int64_t now)
{
    if (m == NULL) {
        return false;
    }
    size_t s = slot_of(key, CERT_SLOTS);
    pthread_mutex_lock(&m->lock);
    bool hit =
        m->used[s] && memcmp(m->key[s], key, 32) == 0 && now >= m->from[s] && now <= m->until[s];
    pthread_mutex_unlock(&m->lock);
    att_metric_cache("tpm_ak_cert", hit);
    return hit;
}

void att_tpm_cert_memo_add(struct att_tpm_cert_memo *m, const uint8_t key[32], int64_t from,
                           int64_t until)
{
    if (m == NULL) {
        return;
    }
    size_t s = slot_of(key, CERT_SLOTS);
    pthread_mutex_lock(&m->lock);
    memcpy(m->key[s], key, 32);
    m->from[s] = from;
    m->until[s] = until;
    m->used[s] = true;
    pthread_mutex_unlock(&m->lock);
}
