/*
 * memo.c - memoized pure verification steps (memo.h).
 */
#include "evidence/intel/memo.h"

#include <pthread.h>
#include <string.h>

#include "crypto/ecdsa.h"
#include "metrics/metrics.h"

#define QE_SLOTS 1024 /* platforms whose QE report is remembered (32 bytes each) */
#define KEY_SLOTS 256 /* attestation keys (one per QE instance; they change rarely) */

static struct {
    pthread_mutex_t lock;
    bool used[QE_SLOTS];
    uint8_t key[QE_SLOTS][32];
} qe_memo = {PTHREAD_MUTEX_INITIALIZER, {false}, {{0}}};

static struct {
    pthread_mutex_t lock;
    uint8_t xy[KEY_SLOTS][64];
    EVP_PKEY *pkey[KEY_SLOTS]; /* reachable until exit, by design */
} key_memo = {PTHREAD_MUTEX_INITIALIZER, {{0}}, {NULL}};

/* A slot from the first bytes of a SHA-256 (or of a random-looking public key). */
static size_t slot_of(const uint8_t *p, size_t slots)
{
    return ((size_t)p[0] << 8 | p[1]) % slots;
}

bool att_memo_qe_report_known(const uint8_t pck_hash[32], const uint8_t *report, size_t report_len,
                              const uint8_t sig[64], uint8_t key_out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, pck_hash, 32) == 1 &&
              EVP_DigestUpdate(md, report, report_len) == 1 && EVP_DigestUpdate(md, sig, 64) == 1 &&
              EVP_DigestFinal_ex(md, key_out, &n) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        memset(key_out, 0, 32); /* an all-zero key is never added */
        return false;
    }
    size_t s = slot_of(key_out, QE_SLOTS);
    pthread_mutex_lock(&qe_memo.lock);
    bool hit = qe_memo.used[s] && memcmp(qe_memo.key[s], key_out, 32) == 0;
    pthread_mutex_unlock(&qe_memo.lock);
    att_metric_cache("qe_report", hit);
    return hit;
}

void att_memo_qe_report_add(const uint8_t key[32])
{
    static const uint8_t zero[32];
    if (memcmp(key, zero, 32) == 0) {
        return;
    }
    size_t s = slot_of(key, QE_SLOTS);
    pthread_mutex_lock(&qe_memo.lock);
    memcpy(qe_memo.key[s], key, 32);
    qe_memo.used[s] = true;
    pthread_mutex_unlock(&qe_memo.lock);
}

att_err att_memo_attestation_key(const uint8_t xy[64], EVP_PKEY **out)
{
    size_t s = slot_of(xy, KEY_SLOTS);
    EVP_PKEY *key = NULL;
    pthread_mutex_lock(&key_memo.lock);
    if (key_memo.pkey[s] != NULL && memcmp(key_memo.xy[s], xy, 64) == 0 &&
        EVP_PKEY_up_ref(key_memo.pkey[s]) == 1) {
        key = key_memo.pkey[s];
    }
    pthread_mutex_unlock(&key_memo.lock);
    att_metric_cache("attestation_key", key != NULL);
    if (key != NULL) {
        *out = key;
        return ATT_OK;
    }
    ATT_TRY(att_p256_key_from_xy(xy, &key));
    if (EVP_PKEY_up_ref(key) == 1) {
        pthread_mutex_lock(&key_memo.lock);
        EVP_PKEY *old = key_memo.pkey[s];
        key_memo.pkey[s] = key;
        memcpy(key_memo.xy[s], xy, 64);
        pthread_mutex_unlock(&key_memo.lock);
        EVP_PKEY_free(old);
    }
    *out = key;
    return ATT_OK;
}
