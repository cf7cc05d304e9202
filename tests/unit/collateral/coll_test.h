/*
 * coll_test.h - helpers for the tests of src/collateral: reading the real Intel collateral in
 * tests/fixtures/dcap, taking documents out of bundles and mutating them with jansson, and an
 * ECDSA check written against OpenSSL directly (independent of src/crypto), which proves that a
 * located byte span is exactly what Intel signed.
 */
#ifndef ATT_TEST_COLL_TEST_H
#define ATT_TEST_COLL_TEST_H

#include "att_test.h"

#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/file.h"

#define COLL_FIXTURE_MAX ((size_t)8 << 20)

/* Every bundle of tests/fixtures/dcap (upstream files and ones assembled from raw responses). */
static const char *const coll_bundles[] = {
    "dcap/sgx/sgx01_dcapqvl_collateral.json",
    "dcap/sgx/collateral_00606a000000_2025-08_bundle.json",
    "dcap/tdx/tdx01_dcapqvl_collateral.json",
    "dcap/tdx/tdx02_dcapqvl_outdated_collateral.json",
    "dcap/tdx/tdx04_gotdx_collateral_50806f_2023-06_bundle.json",
    "dcap/tdx/tdx05_gotdx_collateral_90c06f_2026-02_bundle.json",
    "dcap/tdx/tdx08_trustee_collateral_00a06d080000_2025-10_bundle.json",
    "dcap/tdx/collateral_00806f050000_2025-10_bundle.json",
    "dcap/tdx/collateral_90c06f000000_2025-06_bundle.json",
};
#define COLL_N_BUNDLES (sizeof(coll_bundles) / sizeof(coll_bundles[0]))

/* Raw PCS v4 TCB info and enclave identity responses. */
static const char *const coll_raw_tcb[] = {
    "dcap/sgx/raw_tcbinfo_sgx_00606a000000_2025-08.json",
    "dcap/tdx/raw_tcbinfo_tdx_00806f050000_2025-10.json",
    "dcap/tdx/raw_gotdx_sample_tcbInfo_response",
    "dcap/tdx/raw_gotdx_sample_tcbinfo_response_v5",
};
static const char *const coll_raw_qe[] = {
    "dcap/sgx/raw_qeidentity_sgx_2025-08.json",
    "dcap/tdx/raw_qeidentity_tdqe_2025-10.json",
    "dcap/tdx/raw_gotdx_sample_qeIdentity_response",
};
#define COLL_N_RAW_TCB (sizeof(coll_raw_tcb) / sizeof(coll_raw_tcb[0]))
#define COLL_N_RAW_QE (sizeof(coll_raw_qe) / sizeof(coll_raw_qe[0]))

/* A file under tests/fixtures, as is (initialises out). */
static inline void coll_load(const char *rel, struct att_buf *out)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", ATT_FIXTURES_DIR, rel);
    att_buf_init(out, COLL_FIXTURE_MAX);
    if (att_file_read(path, COLL_FIXTURE_MAX, out) != ATT_OK) {
        fail_msg("cannot read fixture %s", path);
    }
}

/* A string member of a bundle file, read with jansson (not with bundle.c): malloc'd, *n set. */
static inline char *coll_bundle_member(const char *rel, const char *key, size_t *n)
{
    struct att_buf raw;
    json_error_t jerr;
    coll_load(rel, &raw);
    json_t *doc = json_loadb((const char *)raw.data, raw.len, 0, &jerr);
    assert_non_null(doc);
    const json_t *v = json_object_get(doc, key);
    assert_true(json_is_string(v));
    *n = json_string_length(v);
    char *s = malloc(*n + 1);
    assert_non_null(s);
    memcpy(s, json_string_value(v), *n + 1);
    json_decref(doc);
    att_buf_cleanup(&raw);
    return s;
}

/* Bytes of a hex string (test-side decoder). */
static inline void coll_unhex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/*
 * Does sig (r || s, 32 bytes each) verify over data with the key of the first certificate in
 * tests/fixtures/dcap/roots/intel_tcb_signing_chain_2025.pem (ECDSA P-256, SHA-256)?
 */
static inline bool coll_tcb_sig_ok(const void *data, size_t len, const uint8_t sig[64])
{
    char path[512];
    snprintf(path, sizeof(path), "%s/dcap/roots/intel_tcb_signing_chain_2025.pem",
             ATT_FIXTURES_DIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(cert);
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    assert_non_null(es);
    assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    assert_true(der_len > 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_non_null(md);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)), 1);
    int ok = EVP_DigestVerify(md, der, (size_t)der_len, data, len);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    X509_free(cert);
    return ok == 1;
}

/*
 * The value at `path` in `root`: members and array indices separated by '/' ("tcbLevels/3/tcb").
 * "" is the root itself. Fails the test when absent.
 */
static inline json_t *coll_at(json_t *root, const char *path)
{
    char part[64];
    json_t *v = root;
    const char *p = path;
    while (*p != 0) {
        size_t n = strcspn(p, "/");
        assert_true(n < sizeof(part));
        memcpy(part, p, n);
        part[n] = 0;
        if (json_is_array(v)) {
            v = json_array_get(v, strtoul(part, NULL, 10));
        } else {
            v = json_object_get(v, part);
        }
        if (v == NULL) {
            fail_msg("no %s in the document", path);
        }
        p += n;
        if (*p == '/') {
            p++;
        }
    }
    return v;
}

/*
 * `doc` with the member at "parent/key" set to `val` (stolen; NULL deletes it), as compact
 * JSON text (malloc'd). Array elements are replaced by index.
 */
static inline char *coll_mutate(const char *doc, size_t len, const char *parent, const char *key,
                                json_t *val)
{
    json_error_t jerr;
    json_t *root = json_loadb(doc, len, 0, &jerr);
    assert_non_null(root);
    json_t *p = coll_at(root, parent);
    if (json_is_array(p)) {
        size_t i = strtoul(key, NULL, 10);
        if (val == NULL) {
            assert_int_equal(json_array_remove(p, i), 0);
        } else {
            assert_int_equal(json_array_set_new(p, i, val), 0);
        }
    } else if (val == NULL) {
        assert_int_equal(json_object_del(p, key), 0);
    } else {
        assert_int_equal(json_object_set_new(p, key, val), 0);
    }
    char *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(out);
    json_decref(root);
    return out;
}

#endif
