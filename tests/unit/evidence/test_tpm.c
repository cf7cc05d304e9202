/*
 * test_tpm.c - TPM 2.0 quotes and TCG event logs (src/evidence/tpm/tpm2.c, eventlog.c) on the
 * real samples of tests/fixtures/tpm (README.md there): GCE quotes verify with their AKs, their
 * PCR values match the quoted digests, their logs replay to them, the TDX CCEL log replays to
 * its quote's RTMRs; then every truncation, bit flips, wrong nonces, altered PCRs and events,
 * and AK attributes.
 */
#include <jansson.h>
#include <tss2/tss2_mu.h>

#include "core/codec.h"
#include "crypto/ecdsa.h"
#include "dcap_fixtures.h"
#include "policy/policy.h"
#include "evidence/intel/quote.h"
#include "evidence/tpm/eventdata.h"
#include "evidence/tpm/eventlog.h"
#include "evidence/tpm/memo.h"
#include "evidence/tpm/tpm2.h"

static struct att_bytes view(const struct att_buf *b)
{
    struct att_bytes v = {b->data, b->len};
    return v;
}

static void load(const char *name, struct att_buf *b)
{
    char path[160];
    snprintf(path, sizeof(path), "tpm/%s", name);
    fixture_load(path, b);
}

static json_t *load_json(const char *name)
{
    struct att_buf b;
    json_error_t err;
    load(name, &b);
    json_t *j = json_loadb((const char *)b.data, b.len, 0, &err);
    att_buf_cleanup(&b);
    if (j == NULL) {
        fail_msg("%s: %s", name, err.text);
    }
    return j;
}

/* {"<index>": "<hex>", ...} into bank `alg`. */
static void pcrs_from_object(struct att_tpm_pcrs *p, uint16_t alg, json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        struct att_buf d;
        char msg[128];
        att_buf_init(&d, 64);
        EXPECT_OK(att_hex_decode(json_string_value(v), json_string_length(v), &d));
        EXPECT_OK(att_tpm_pcrs_set(p, alg, (uint32_t)atoi(key), view(&d), msg, sizeof(msg)));
        att_buf_cleanup(&d);
    }
}

struct sample {
    struct att_buf attest, sig, pub;
    struct att_tpm_quote q;
    struct att_tpm_signature s;
    struct att_tpm_key k;
    struct att_tpm_pcrs pcrs;
};

/* tpm02: the SHA-1, SHA-256 or SHA-384 quote of the GCE COS 85 sample. */
static void gce_load(struct sample *x, const char *bank)
{
    char name[96];
    char msg[256] = "";
    static const struct {
        const char *name;
        uint16_t alg;
    } banks[] = {
        {"sha1", ATT_TPM_ALG_SHA1}, {"sha256", ATT_TPM_ALG_SHA256}, {"sha384", ATT_TPM_ALG_SHA384}};
    memset(x, 0, sizeof(*x));
    snprintf(name, sizeof(name), "tpm02_gce_cos85_nonce9009_quote_%s.tpms_attest", bank);
    load(name, &x->attest);
    snprintf(name, sizeof(name), "tpm02_gce_cos85_nonce9009_quote_%s.tpmt_signature", bank);
    load(name, &x->sig);
    load("tpm02_gce_cos85_nonce9009_ak_pub.tpmt_public", &x->pub);
    json_t *j = load_json("tpm02_gce_cos85_nonce9009_pcrs.json");
    json_t *quotes = json_object_get(j, "quotes");
    for (size_t i = 0; i < json_array_size(quotes); i++) {
        json_t *q = json_array_get(quotes, i);
        for (size_t b = 0; b < 3; b++) {
            if (strcmp(json_string_value(json_object_get(q, "hash")), banks[b].name) == 0) {
                pcrs_from_object(&x->pcrs, banks[b].alg, json_object_get(q, "pcrs"));
            }
        }
    }
    json_decref(j);
    EXPECT_OK(att_tpm_quote_parse(view(&x->attest), &x->q, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_signature_parse(view(&x->sig), &x->s, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_key_from_public(view(&x->pub), &x->k, msg, sizeof(msg)));
}

/* tpm01: the Windows GCE quote (SHA-1 bank, SHA-1 signature, empty nonce). */
static void windows_load(struct sample *x)
{
    char msg[256] = "";
    memset(x, 0, sizeof(*x));
    load("tpm01_gcp_windows_quote.tpms_attest", &x->attest);
    load("tpm01_gcp_windows_quote.tpmt_signature", &x->sig);
    load("tpm01_gcp_windows_ak_pub.tpmt_public", &x->pub);
    json_t *j = load_json("tpm01_gcp_windows_pcrs.json");
    pcrs_from_object(&x->pcrs, ATT_TPM_ALG_SHA1, json_object_get(j, "pcrs"));
    json_decref(j);
    EXPECT_OK(att_tpm_quote_parse(view(&x->attest), &x->q, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_signature_parse(view(&x->sig), &x->s, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_key_from_public(view(&x->pub), &x->k, msg, sizeof(msg)));
}

static void sample_free(struct sample *x)
{
    att_tpm_key_free(&x->k);
    att_buf_cleanup(&x->attest);
    att_buf_cleanup(&x->sig);
    att_buf_cleanup(&x->pub);
}

static void test_gce_quotes_verify(void **state)
{
    (void)state;
    static const char *const banks[] = {"sha1", "sha256", "sha384"};
    static const uint16_t algs[] = {ATT_TPM_ALG_SHA1, ATT_TPM_ALG_SHA256, ATT_TPM_ALG_SHA384};
    static const uint8_t nonce[] = {0x90, 0x09};
    struct att_bytes n = {nonce, sizeof(nonce)};
    for (size_t i = 0; i < 3; i++) {
        struct sample x;
        char msg[256] = "";
        gce_load(&x, banks[i]);
        assert_int_equal(x.q.nsel, 1);
        assert_int_equal(x.q.sel[0].alg, algs[i]);
        assert_int_equal(x.q.sel[0].mask, 0xFFFFFF);
        assert_int_equal(x.s.scheme, ATT_TPM_ALG_RSASSA);
        assert_int_equal(x.k.type, ATT_TPM_ALG_RSA);
        assert_int_equal(x.k.attributes, 0x00050072);
        EXPECT_OK(att_tpm_key_check_ak(&x.k, msg, sizeof(msg)));
        EXPECT_OK(att_tpm_quote_verify(&x.q, &x.s, &x.k, msg, sizeof(msg)));
        EXPECT_OK(att_tpm_quote_check_nonce(&x.q, n, msg, sizeof(msg)));
        /* The digest uses the signing hash, not the bank's (a SHA-384 bank, a SHA-256 digest). */
        assert_int_equal(x.q.pcr_digest_len, att_tpm_digest_size(x.s.hash));
        EXPECT_OK(att_tpm_quote_check_pcrs(&x.q, x.s.hash, &x.pcrs, msg, sizeof(msg)));
        /* qualifiedSigner is the AK's qualified name (Part 1 §16), as long as its name. */
        assert_int_equal(x.q.signer_name_len, x.k.name_len);
        assert_memory_equal(x.q.signer_name, x.k.name, 2);
        sample_free(&x);
    }
}

/* An area seen again gets the same key and aikPubHash from the memo; certificate validations
 * count only inside their window and for their own key. */
static void test_memo(void **state)
{
    (void)state;
    struct sample a;
    struct sample b;
    char msg[256] = "";
    gce_load(&a, "sha256");
    gce_load(&b, "sha256");
    assert_ptr_equal(a.k.pkey, b.k.pkey);
    assert_string_equal(a.k.pub_hash, b.k.pub_hash);
    char fresh[45];
    EXPECT_OK(att_tpm_key_pub_hash(b.k.pkey, fresh));
    assert_string_equal(fresh, b.k.pub_hash);
    EXPECT_OK(att_tpm_quote_verify(&b.q, &b.s, &b.k, msg, sizeof(msg)));
    sample_free(&a);
    sample_free(&b);

    struct att_tpm_cert_memo *m = att_tpm_cert_memo_new();
    uint8_t key[32];
    uint8_t other[32];
    assert_non_null(m);
    memset(key, 0x42, sizeof(key));
    memcpy(other, key, sizeof(other));
    other[31] ^= 1; /* same slot, another key */
    assert_false(att_tpm_cert_memo_valid(m, key, 150));
    att_tpm_cert_memo_add(m, key, 100, 200);
    assert_true(att_tpm_cert_memo_valid(m, key, 100));
    assert_true(att_tpm_cert_memo_valid(m, key, 200));
    assert_false(att_tpm_cert_memo_valid(m, key, 99));
    assert_false(att_tpm_cert_memo_valid(m, key, 201));
    assert_false(att_tpm_cert_memo_valid(m, other, 150));
    assert_false(att_tpm_cert_memo_valid(NULL, key, 150));
    att_tpm_cert_memo_add(NULL, key, 100, 200); /* no memo: nothing kept, no crash */
    att_tpm_cert_memo_free(m);
}

static void test_windows_quote_verifies(void **state)
{
    (void)state;
    struct sample x;
    char msg[256] = "";
    struct att_bytes empty = {NULL, 0};
    windows_load(&x);
    assert_int_equal(x.s.hash, ATT_TPM_ALG_SHA1);
    assert_int_equal(x.q.extra_len, 0);
    EXPECT_OK(att_tpm_quote_verify(&x.q, &x.s, &x.k, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_quote_check_pcrs(&x.q, x.s.hash, &x.pcrs, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_quote_check_nonce(&x.q, empty, msg, sizeof(msg)));
    static const uint8_t any[] = {1};
    struct att_bytes one = {any, 1};
    assert_int_equal(att_tpm_quote_check_nonce(&x.q, one, msg, sizeof(msg)), ATT_ERR_TPM_NONCE);
    sample_free(&x);
}

/* tpm03: trustee's sample, the AK as a DER SubjectPublicKeyInfo and the quote in base64. */
static void test_spki_ak_verifies(void **state)
{
    (void)state;
    char msg[256] = "";
    json_t *j = load_json("tpm03_trustee_tpm_evidence.json");
    json_t *tq = json_object_get(j, "tpm_quote");
    struct att_buf ak, attest, sig;
    struct att_tpm_quote q;
    struct att_tpm_signature s;
    struct att_tpm_key k;
    struct att_tpm_pcrs pcrs;
    att_buf_init(&ak, 4096);
    att_buf_init(&attest, 4096);
    att_buf_init(&sig, 4096);
    memset(&pcrs, 0, sizeof(pcrs));
    const char *a = json_string_value(json_object_get(j, "ak_public"));
    const char *m = json_string_value(json_object_get(tq, "message"));
    const char *g = json_string_value(json_object_get(tq, "signature"));
    EXPECT_OK(att_b64_decode(a, strlen(a), &ak));
    EXPECT_OK(att_b64_decode(m, strlen(m), &attest));
    EXPECT_OK(att_b64_decode(g, strlen(g), &sig));
    json_t *pa = json_object_get(tq, "pcrs");
    for (size_t i = 0; i < json_array_size(pa); i++) {
        struct att_buf d;
        json_t *v = json_array_get(pa, i);
        att_buf_init(&d, 64);
        EXPECT_OK(att_hex_decode(json_string_value(v), json_string_length(v), &d));
        EXPECT_OK(
            att_tpm_pcrs_set(&pcrs, ATT_TPM_ALG_SHA256, (uint32_t)i, view(&d), msg, sizeof(msg)));
        att_buf_cleanup(&d);
    }
    const unsigned char *p = ak.data;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)ak.len);
    assert_non_null(pk);
    EXPECT_OK(att_tpm_key_from_pkey(pk, &k, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_key_check_ak(&k, msg, sizeof(msg))); /* no public area: trusted elsewhere */
    EXPECT_OK(att_tpm_quote_parse(view(&attest), &q, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_signature_parse(view(&sig), &s, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_quote_verify(&q, &s, &k, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_quote_check_pcrs(&q, s.hash, &pcrs, msg, sizeof(msg)));
    uint8_t h[32];
    EXPECT_OK(att_sha256(ak.data, ak.len, h));
    struct att_buf hb;
    att_buf_init(&hb, 64);
    EXPECT_OK(att_b64_encode(h, 32, &hb));
    assert_string_equal(k.pub_hash, att_buf_cstr(&hb));
    att_buf_cleanup(&hb);
    att_tpm_key_free(&k);
    att_buf_cleanup(&ak);
    att_buf_cleanup(&attest);
    att_buf_cleanup(&sig);
    json_decref(j);
}

/* Every prefix of each structure fails cleanly; so does one byte more. */
static void test_truncations(void **state)
{
    (void)state;
    struct sample x;
    char msg[256];
    gce_load(&x, "sha256");
    for (size_t n = 0; n < x.attest.len; n++) {
        struct att_bytes v = {x.attest.data, n};
        struct att_tpm_quote q;
        assert_int_equal(att_tpm_quote_parse(v, &q, msg, sizeof(msg)), ATT_ERR_TPM_FORMAT);
    }
    for (size_t n = 0; n < x.sig.len; n++) {
        struct att_bytes v = {x.sig.data, n};
        struct att_tpm_signature s;
        assert_int_equal(att_tpm_signature_parse(v, &s, msg, sizeof(msg)), ATT_ERR_TPM_FORMAT);
    }
    for (size_t n = 0; n < x.pub.len; n++) {
        struct att_bytes v = {x.pub.data, n};
        struct att_tpm_key k;
        att_err rc = att_tpm_key_from_public(v, &k, msg, sizeof(msg));
        assert_true(rc == ATT_ERR_TPM_FORMAT || rc == ATT_ERR_KEY_TYPE);
    }
    struct att_bytes none = {NULL, 0};
    assert_int_equal(att_tpm_quote_parse(none, &x.q, msg, sizeof(msg)), ATT_ERR_TPM_FORMAT);
    assert_int_equal(att_tpm_signature_parse(none, &x.s, msg, sizeof(msg)), ATT_ERR_TPM_FORMAT);
    EXPECT_OK(att_buf_putc(&x.attest, 0));
    assert_int_equal(att_tpm_quote_parse(view(&x.attest), &x.q, msg, sizeof(msg)),
                     ATT_ERR_TPM_FORMAT);
    assert_non_null(strstr(msg, "1 trailing"));
    sample_free(&x);
}

/* Each bit of the signed bytes matters: a flipped bit is a parse error, not a quote, or a bad
 * signature, never a success. */
static void test_bit_flips(void **state)
{
    (void)state;
    struct sample x;
    char msg[256];
    gce_load(&x, "sha1");
    for (size_t i = 0; i < x.attest.len * 8; i++) {
        struct att_tpm_quote q;
        x.attest.data[i / 8] ^= (uint8_t)(1u << (i % 8));
        att_err rc = att_tpm_quote_parse(view(&x.attest), &q, msg, sizeof(msg));
        if (rc == ATT_OK) {
            rc = att_tpm_quote_verify(&q, &x.s, &x.k, msg, sizeof(msg));
            assert_int_equal(rc, ATT_ERR_TPM_SIGNATURE);
        } else {
            assert_true(rc == ATT_ERR_TPM_FORMAT || rc == ATT_ERR_TPM_NOT_QUOTE);
        }
        x.attest.data[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    sample_free(&x);
}

static void test_quote_fields(void **state)
{
    (void)state;
    struct sample x;
    char msg[256] = "";
    gce_load(&x, "sha256");
    /* Another TPMS_ATTEST type (certify, 0x8017), well formed, is not a quote. */
    TPMS_ATTEST certify;
    uint8_t wire[sizeof(TPMS_ATTEST)];
    size_t wire_len = 0;
    memset(&certify, 0, sizeof(certify));
    certify.magic = 0xFF544347;
    certify.type = TPM2_ST_ATTEST_CERTIFY;
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&certify, wire, sizeof(wire), &wire_len), 0);
    struct att_bytes cv = {wire, wire_len};
    assert_int_equal(att_tpm_quote_parse(cv, &x.q, msg, sizeof(msg)), ATT_ERR_TPM_NOT_QUOTE);
    assert_non_null(strstr(msg, "0x8017"));
    x.attest.data[0] = 0xFE;
    assert_int_equal(att_tpm_quote_parse(view(&x.attest), &x.q, msg, sizeof(msg)),
                     ATT_ERR_TPM_NOT_QUOTE);
    assert_non_null(strstr(msg, "magic"));
    x.attest.data[0] = 0xFF;
    EXPECT_OK(att_tpm_quote_parse(view(&x.attest), &x.q, msg, sizeof(msg)));

    /* Wrong nonces: another value, a prefix, nothing. */
    static const uint8_t other[] = {0x90, 0x08};
    static const uint8_t prefix[] = {0x90};
    struct att_bytes o = {other, 2}, p = {prefix, 1}, none = {NULL, 0};
    assert_int_equal(att_tpm_quote_check_nonce(&x.q, o, msg, sizeof(msg)), ATT_ERR_TPM_NONCE);
    assert_int_equal(att_tpm_quote_check_nonce(&x.q, p, msg, sizeof(msg)), ATT_ERR_TPM_NONCE);
    assert_int_equal(att_tpm_quote_check_nonce(&x.q, none, msg, sizeof(msg)), ATT_ERR_TPM_NONCE);

    /* A PCR value changed, or missing. */
    x.pcrs.bank[1].value[7][0] ^= 1;
    assert_int_equal(att_tpm_quote_check_pcrs(&x.q, x.s.hash, &x.pcrs, msg, sizeof(msg)),
                     ATT_ERR_TPM_PCR_DIGEST);
    x.pcrs.bank[1].value[7][0] ^= 1;
    x.pcrs.bank[1].have &= ~(1u << 23);
    assert_int_equal(att_tpm_quote_check_pcrs(&x.q, x.s.hash, &x.pcrs, msg, sizeof(msg)),
                     ATT_ERR_TPM_PCR_MISSING);
    assert_non_null(strstr(msg, "PCR 23 of bank SHA256"));

    /* A signature by another key: the Windows AK. */
    struct sample w;
    windows_load(&w);
    x.k.scheme = ATT_TPM_ALG_NULL; /* let the scheme check pass to reach the signature */
    assert_int_equal(att_tpm_quote_verify(&x.q, &w.s, &x.k, msg, sizeof(msg)),
                     ATT_ERR_TPM_SIGNATURE);
    w.k.scheme = ATT_TPM_ALG_NULL;
    assert_int_equal(att_tpm_quote_verify(&x.q, &x.s, &w.k, msg, sizeof(msg)),
                     ATT_ERR_TPM_SIGNATURE);
    /* With their own schemes, the keys refuse each other's signatures before verifying. */
    w.k.scheme = ATT_TPM_ALG_RSASSA;
    assert_int_equal(att_tpm_quote_verify(&x.q, &x.s, &w.k, msg, sizeof(msg)),
                     ATT_ERR_TPM_SIG_SCHEME);
    sample_free(&w);

    /* PCR values of the wrong size, bank or index. */
    uint8_t v[64] = {0};
    struct att_bytes v31 = {v, 31}, v32 = {v, 32};
    assert_int_equal(att_tpm_pcrs_set(&x.pcrs, ATT_TPM_ALG_SHA256, 0, v31, msg, sizeof(msg)),
                     ATT_ERR_TPM_FORMAT);
    assert_int_equal(att_tpm_pcrs_set(&x.pcrs, ATT_TPM_ALG_SHA256, 24, v32, msg, sizeof(msg)),
                     ATT_ERR_TPM_FORMAT);
    assert_int_equal(att_tpm_pcrs_set(&x.pcrs, 0x0012, 0, v32, msg, sizeof(msg)),
                     ATT_ERR_TPM_FORMAT);
    sample_free(&x);
}

static void test_ak_attributes(void **state)
{
    (void)state;
    struct sample x;
    char msg[256] = "";
    gce_load(&x, "sha256");
    static const struct {
        uint32_t flip;
        const char *name;
    } cases[] = {
        {ATT_TPMA_RESTRICTED, "restricted is clear"}, {ATT_TPMA_SIGN, "sign is clear"},
        {ATT_TPMA_FIXED_TPM, "fixedTPM is clear"},    {ATT_TPMA_FIXED_PARENT, "fixedParent"},
        {ATT_TPMA_DECRYPT, "decrypt is set"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct att_tpm_key k = x.k;
        k.attributes ^= cases[i].flip;
        assert_int_equal(att_tpm_key_check_ak(&k, msg, sizeof(msg)), ATT_ERR_TPM_AK_ATTRIBUTES);
        assert_non_null(strstr(msg, cases[i].name));
    }
    /* The attributes sit at offset 4 of TPMT_PUBLIC: a real area without `restricted`. */
    struct att_tpm_key k;
    x.pub.data[5] ^= 0x01; /* bit 16 */
    EXPECT_OK(att_tpm_key_from_public(view(&x.pub), &k, msg, sizeof(msg)));
    assert_int_equal(att_tpm_key_check_ak(&k, msg, sizeof(msg)), ATT_ERR_TPM_AK_ATTRIBUTES);
    /* ... whose name changed with it. */
    assert_memory_not_equal(k.name, x.k.name, k.name_len);
    att_tpm_key_free(&k);
    sample_free(&x);
}

/* ---- event logs ------------------------------------------------------------------------- */

static void test_logs_parse(void **state)
{
    (void)state;
    /* Event and algorithm counts from an independent reading of each file. */
    static const struct {
        const char *name;
        bool agile;
        size_t events, algs;
    } logs[] = {
        {"tpm01_gcp_windows_eventlog.bin", false, 21, 1},
        {"tpm02_gce_cos85_nonce9009_eventlog.bin", true, 45, 3},
        {"eventlog_goattest_coreos_36_shielded_vm_no_secure_boot_eventlog", true, 76, 3},
        {"eventlog_goattest_crypto_agile_eventlog", true, 27, 1},
        {"eventlog_goattest_sb_cert_eventlog", true, 15, 3},
        {"eventlog_goattest_ubuntu_2104_shielded_vm_no_secure_boot_eventlog", true, 106, 3},
        {"eventlog_gotpmtools_cos-101-amd-sev.bin", true, 49, 3},
        {"eventlog_gotpmtools_debian-10.bin", false, 25, 1},
        {"eventlog_gotpmtools_rhel8-uefi.bin", true, 83, 3},
        {"eventlog_gotpmtools_ubuntu-2404-amd-sevsnp.bin", true, 117, 3},
    };
    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
        struct att_buf b;
        struct att_tcg_log log;
        char msg[256] = "";
        load(logs[i].name, &b);
        att_err rc = att_tcg_log_parse(view(&b), ATT_TCG_LOG_TPM, &log, msg, sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("%s: %s (%s)", logs[i].name, att_err_name(rc), msg);
        }
        assert_int_equal(log.crypto_agile, logs[i].agile);
        assert_int_equal(log.nevents, logs[i].events);
        assert_int_equal(log.nalgs, logs[i].algs);
        for (size_t e = 0; e < log.nevents; e++) {
            assert_int_equal(log.events[e].seq, e);
        }
        att_tcg_log_free(&log);
        att_buf_cleanup(&b);
    }
}

static void test_gce_log_replays(void **state)
{
    (void)state;
    static const char *const banks[] = {"sha1", "sha256", "sha384"};
    struct att_buf b;
    struct att_tcg_log log;
    char msg[256] = "";
    load("tpm02_gce_cos85_nonce9009_eventlog.bin", &b);
    EXPECT_OK(att_tcg_log_parse(view(&b), ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)));
    for (size_t i = 0; i < 3; i++) {
        struct sample x;
        uint32_t verified = 0;
        uint16_t bank = 0;
        gce_load(&x, banks[i]);
        att_err rc = att_tcg_log_check(&log, &x.q, &x.pcrs, &verified, &bank, msg, sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("%s: %s (%s)", banks[i], att_err_name(rc), msg);
        }
        assert_int_equal(bank, x.q.sel[0].alg);
        assert_true((verified & 0x3FF) == 0x3FF); /* PCR 0-9 carry events */
        /* PCR 7 changed after the log was written: the mismatch names the PCR and bank. */
        x.pcrs.bank[att_tpm_bank_of(bank)].value[7][3] ^= 0x40;
        assert_int_equal(att_tcg_log_check(&log, &x.q, &x.pcrs, &verified, &bank, msg, sizeof(msg)),
                         ATT_ERR_EVENTLOG_REPLAY);
        char want[64];
        snprintf(want, sizeof(want), "PCR 7 (%s)", att_tpm_alg_name(x.q.sel[0].alg));
        assert_non_null(strstr(msg, want));
        sample_free(&x);
    }
    att_tcg_log_free(&log);
    att_buf_cleanup(&b);
}

static void test_windows_log_replays(void **state)
{
    (void)state;
    struct sample x;
    struct att_buf b;
    struct att_tcg_log log;
    uint32_t verified = 0;
    uint16_t bank = 0;
    char msg[256] = "";
    windows_load(&x);
    load("tpm01_gcp_windows_eventlog.bin", &b);
    EXPECT_OK(att_tcg_log_parse(view(&b), ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)));
    att_err rc = att_tcg_log_check(&log, &x.q, &x.pcrs, &verified, &bank, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s (%s)", att_err_name(rc), msg);
    }
    assert_int_equal(bank, ATT_TPM_ALG_SHA1);
    assert_true((verified & (1u << 12)) != 0); /* the WBCL's PCR */
    att_tcg_log_free(&log);
    att_buf_cleanup(&b);
    sample_free(&x);
}

/* An event's digest altered: replay fails on its PCR; a digest of a bank the log lacks, or a
 * quote of a bank only, is refused by name. */
static void test_log_altered(void **state)
{
    (void)state;
    struct sample x;
    struct att_buf b;
    struct att_tcg_log log;
    uint32_t verified = 0;
    uint16_t bank = 0;
    char msg[256] = "";
    gce_load(&x, "sha256");
    load("tpm02_gce_cos85_nonce9009_eventlog.bin", &b);
    EXPECT_OK(att_tcg_log_parse(view(&b), ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)));
    const struct att_tcg_event *e = &log.events[5];
    const struct att_tcg_digest *d = att_tcg_event_digest(e, ATT_TPM_ALG_SHA256);
    assert_non_null(d);
    b.data[(size_t)(d->value.ptr - b.data)] ^= 1; /* the digest, in the log's buffer */
    assert_int_equal(att_tcg_log_check(&log, &x.q, &x.pcrs, &verified, &bank, msg, sizeof(msg)),
                     ATT_ERR_EVENTLOG_REPLAY);
    char want[32];
    snprintf(want, sizeof(want), "PCR %u (SHA256)", (unsigned)e->index);
    assert_non_null(strstr(msg, want));
    att_tcg_log_free(&log);
    att_buf_cleanup(&b);

    /* The Windows log is SHA-1 only; the GCE quote covers only SHA-256. */
    load("tpm01_gcp_windows_eventlog.bin", &b);
    EXPECT_OK(att_tcg_log_parse(view(&b), ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)));
    assert_int_equal(att_tcg_log_check(&log, &x.q, &x.pcrs, &verified, &bank, msg, sizeof(msg)),
                     ATT_ERR_EVENTLOG_REPLAY);
    assert_non_null(strstr(msg, "no PCR bank"));
    att_tcg_log_free(&log);
    att_buf_cleanup(&b);
    sample_free(&x);
}

/* Every prefix of a log either parses (a record boundary) or fails with FORMAT; single byte
 * corruptions never crash. */
static void test_log_truncations(void **state)
{
    (void)state;
    struct att_buf b;
    char msg[256];
    load("eventlog_goattest_crypto_agile_eventlog", &b);
    size_t boundaries = 0;
    for (size_t n = 0; n < b.len; n++) {
        struct att_bytes v = {b.data, n};
        struct att_tcg_log log;
        att_err rc = att_tcg_log_parse(v, ATT_TCG_LOG_TPM, &log, msg, sizeof(msg));
        if (rc == ATT_OK) {
            boundaries++;
            att_tcg_log_free(&log);
        } else {
            assert_int_equal(rc, ATT_ERR_EVENTLOG_FORMAT);
        }
    }
    assert_true(boundaries > 10);
    for (size_t i = 0; i < 4096 && i < b.len; i++) {
        struct att_tcg_log log;
        b.data[i] ^= 0xA5;
        if (att_tcg_log_parse(view(&b), ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)) == ATT_OK) {
            att_tcg_log_free(&log);
        }
        b.data[i] ^= 0xA5;
    }
    att_buf_cleanup(&b);
}

static void test_log_limits(void **state)
{
    (void)state;
    char msg[256] = "";
    struct att_tcg_log log;
    struct att_bytes empty = {NULL, 0};
    assert_int_equal(att_tcg_log_parse(empty, ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)),
                     ATT_ERR_EVENTLOG_FORMAT);
    /* A legacy log of 20,000 empty PCR 0 events is over the event cap. */
    size_t rec = 32;
    size_t n = 20000;
    uint8_t *big = calloc(n, rec);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) {
        big[i * rec + 4] = 1; /* EV_POST_CODE, not padding */
    }
    struct att_bytes v = {big, n * rec};
    assert_int_equal(att_tcg_log_parse(v, ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)),
                     ATT_ERR_TOO_LARGE);
    /* An event naming PCR 24. */
    big[0] = 24;
    v.len = rec;
    assert_int_equal(att_tcg_log_parse(v, ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)),
                     ATT_ERR_EVENTLOG_FORMAT);
    assert_non_null(strstr(msg, "PCR index"));
    /* An event claiming 2 GiB of data. */
    big[0] = 0;
    big[28] = 0x80;
    v.len = rec;
    assert_int_equal(att_tcg_log_parse(v, ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)),
                     ATT_ERR_EVENTLOG_FORMAT);
    free(big);
}

/* The TDX CCEL log of go-tdx-guest replays to the RTMRs of the quote it came with. */
static void test_ccel_replays(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_buf qb;
    struct att_tcg_log log;
    struct att_intel_quote q;
    uint32_t verified = 0;
    char msg[256] = "";
    load("tdx07_gotdx_ccel_eventlog.bin", &b);
    fixture_load("dcap/tdx/tdx07_gotdx_cos113_quote_padded8000.bin", &qb);
    EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)));
    att_err rc = att_tcg_log_parse(view(&b), ATT_TCG_LOG_CCEL, &log, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s (%s)", att_err_name(rc), msg);
    }
    assert_int_equal(log.nevents, 44); /* the Spec ID event and 43 more */
    rc =
        att_tcg_log_check_rtmrs(&log, (const uint8_t(*)[48])q.td.rtmr, &verified, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s (%s)", att_err_name(rc), msg);
    }
    assert_int_equal(verified & 0x6, 0x6); /* RTMR0 and RTMR1 at least */
    q.td.rtmr[1][0] ^= 1;
    assert_int_equal(
        att_tcg_log_check_rtmrs(&log, (const uint8_t(*)[48])q.td.rtmr, &verified, msg, sizeof(msg)),
        ATT_ERR_EVENTLOG_REPLAY);
    assert_non_null(strstr(msg, "RTMR 1 (SHA384)"));
    att_tcg_log_free(&log);
    /* As a TPM log it parses too (same framing) but a CCEL needs SHA-384 only. */
    struct att_buf w;
    load("tpm02_gce_cos85_nonce9009_eventlog.bin", &w);
    assert_int_equal(att_tcg_log_parse(view(&w), ATT_TCG_LOG_CCEL, &log, msg, sizeof(msg)),
                     ATT_ERR_EVENTLOG_FORMAT);
    att_buf_cleanup(&w);
    att_buf_cleanup(&b);
    att_buf_cleanup(&qb);
}

/* ---- event data ------------------------------------------------------------------------- */

/* A log's events as MAA's JSON, every PCR taken as proven in bank `bank`. */
static json_t *decode_all(const char *name, uint16_t bank, struct att_boot_facts *f)
{
    struct att_buf b;
    struct att_tcg_log log;
    json_t *events = NULL;
    char msg[256] = "";
    load(name, &b);
    EXPECT_OK(att_tcg_log_parse(view(&b), ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)));
    att_err rc = att_tcg_events_decode(&log, 0xFFFFFF, bank, &events, f, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s (%s)", name, att_err_name(rc), msg);
    }
    if (getenv("TPM_DUMP") != NULL) {
        char *t = json_dumps(events, JSON_INDENT(1));
        printf("%s\n", t);
        free(t);
        printf("facts: sb %d win %d bootdbg %d kdbg %d safe %d winpe %d vbs %d iommu %d apps %zu "
               "cmdline %s\n",
               f->secure_boot, f->windows, f->boot_debugging, f->kernel_debugging, f->safe_mode,
               f->winpe, f->vbs, f->iommu, json_array_size(f->boot_apps),
               f->kernel_cmdline ? f->kernel_cmdline : "-");
    }
    att_tcg_log_free(&log);
    att_buf_cleanup(&b);
    return events;
}

static void test_events_windows(void **state)
{
    (void)state;
    struct att_boot_facts f;
    json_t *ev = decode_all("tpm01_gcp_windows_eventlog.bin", ATT_TPM_ALG_SHA1, &f);
    assert_int_equal(f.secure_boot, ATT_TRUE);
    assert_true(f.windows);
    assert_int_equal(f.boot_debugging, ATT_FALSE);
    assert_int_equal(f.kernel_debugging, ATT_FALSE);
    assert_int_equal(f.safe_mode, ATT_FALSE);
    assert_int_equal(f.winpe, ATT_FALSE);
    assert_int_equal(f.vbs, ATT_UNKNOWN); /* no VBS events: the hypervisor is off */
    assert_int_equal(json_array_size(f.boot_apps), 1);
    assert_null(f.kernel_cmdline);
    /* The loader's module object, under the trust boundary of record 12 (PCR 13). */
    json_t *e12 = json_array_get(json_object_get(ev, "Events"), 12);
    assert_int_equal(json_integer_value(json_object_get(e12, "PcrIndex")), 13);
    json_t *tb = json_object_get(json_object_get(e12, "ProcessedData"), "EVENT_TRUSTBOUNDARY");
    json_t *mods = json_object_get(tb, "EVENT_LOADEDMODULE_AGGREGATION");
    assert_true(json_is_array(mods));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(mods, 0), "EVENT_FILEPATH")),
        "\\Windows\\system32\\winload.efi");
    assert_true(json_is_true(json_object_get(tb, "EVENT_CODEINTEGRITY")));
    att_boot_facts_free(&f);
    json_decref(ev);
}

static void test_events_linux(void **state)
{
    (void)state;
    static const struct {
        const char *log;
        enum att_tri secure_boot;
        size_t boot_apps;
        const char *cmdline; /* its start, NULL when none is logged */
    } cases[] = {
        {"tpm02_gce_cos85_nonce9009_eventlog.bin", ATT_TRUE, 3,
         "/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd boot=local"},
        {"eventlog_goattest_sb_cert_eventlog", ATT_TRUE, 3, NULL},
        {"eventlog_goattest_ubuntu_2104_shielded_vm_no_secure_boot_eventlog", ATT_FALSE, 2,
         "/boot/vmlinuz-5.11.0-1006-gcp root=PARTUUID=6443a6ae"},
        {"eventlog_gotpmtools_rhel8-uefi.bin", ATT_TRUE, 3,
         "(hd0,gpt2)/boot/vmlinuz-4.18.0-240.22.1.el8_3.x86_64 root=UUID=f3948fb4"},
        {"eventlog_gotpmtools_ubuntu-2404-amd-sevsnp.bin", ATT_FALSE, 2,
         "/vmlinuz-6.8.0-1010-gcp root=PARTUUID=8270f3c9"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct att_boot_facts f;
        json_t *ev = decode_all(cases[i].log, ATT_TPM_ALG_SHA256, &f);
        assert_int_equal(f.secure_boot, cases[i].secure_boot);
        assert_false(f.windows);
        assert_int_equal(f.boot_debugging, ATT_UNKNOWN);
        assert_int_equal(json_array_size(f.boot_apps), cases[i].boot_apps);
        if (cases[i].cmdline == NULL) {
            assert_null(f.kernel_cmdline);
        } else {
            assert_non_null(f.kernel_cmdline);
            assert_memory_equal(f.kernel_cmdline, cases[i].cmdline, strlen(cases[i].cmdline));
        }
        att_boot_facts_free(&f);
        json_decref(ev);
    }
}

/* Data that must hash to its digest and does not: a flipped separator, a flipped SecureBoot
 * variable. Events of PCRs the quote did not prove are left out. */
static void test_events_forged(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_tcg_log log;
    struct att_boot_facts f;
    json_t *ev = NULL;
    char msg[256] = "";
    load("tpm02_gce_cos85_nonce9009_eventlog.bin", &b);
    EXPECT_OK(att_tcg_log_parse(view(&b), ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)));
    size_t sep = 0;
    size_t sb = 0;
    for (size_t i = 0; i < log.nevents; i++) {
        const struct att_tcg_event *e = &log.events[i];
        if (e->type == ATT_EV_SEPARATOR && sep == 0) {
            sep = i;
        }
        if (e->type == 0x80000001 && e->index == 7 && sb == 0) {
            sb = i;
        }
    }
    assert_true(sep > 0 && sb > 0);
    size_t at = (size_t)(log.events[sep].data.ptr - b.data);
    b.data[at] ^= 1;
    assert_int_equal(
        att_tcg_events_decode(&log, 0xFFFFFF, ATT_TPM_ALG_SHA256, &ev, &f, msg, sizeof(msg)),
        ATT_ERR_EVENTLOG_EVENT);
    assert_non_null(strstr(msg, "EV_SEPARATOR"));
    b.data[at] ^= 1;
    at = (size_t)(log.events[sb].data.ptr - b.data) + log.events[sb].data.len - 1;
    b.data[at] ^= 1;
    assert_int_equal(
        att_tcg_events_decode(&log, 0xFFFFFF, ATT_TPM_ALG_SHA256, &ev, &f, msg, sizeof(msg)),
        ATT_ERR_EVENTLOG_EVENT);
    assert_non_null(strstr(msg, "EV_EFI_VARIABLE_DRIVER_CONFIG, PCR 7"));
    b.data[at] ^= 1;
    /* Only PCR 4 proven: no PCR 7 facts, only PCR 4 events. */
    EXPECT_OK(att_tcg_events_decode(&log, 1u << 4, ATT_TPM_ALG_SHA256, &ev, &f, msg, sizeof(msg)));
    assert_int_equal(f.secure_boot, ATT_UNKNOWN);
    json_t *list = json_object_get(ev, "Events");
    for (size_t i = 0; i < json_array_size(list); i++) {
        assert_int_equal(json_integer_value(json_object_get(json_array_get(list, i), "PcrIndex")),
                         4);
    }
    att_boot_facts_free(&f);
    json_decref(ev);
    att_tcg_log_free(&log);
    att_buf_cleanup(&b);
}

/* MAA's documented TPM 1.2 recipes (the policy unit tests' fixtures) over the real Windows log:
 * the events JSON attestd builds answers their queries as MAA's would. */
static void test_maa_recipes_on_windows_log(void **state)
{
    (void)state;
    /* What a GCE Shielded VM with Secure Boot and no VBS should get: claim=value, in order. */
    static const struct {
        const char *policy;
        const char *claims;
    } cases[] = {
        {"maa_tpm_v1_2_measured_boot.policy",
         "secureBootEnabled=true codeIntegrityEnabled=true bitlockerStatus=0 "
         "bootDebuggingDisabled=true osKernelDebuggingDisabled=true depPolicy=1 "
         "testSigningDisabled=true flightSigningNotEnabled=true vsmEnabled=false "
         "vbsEnabled=false hvciEnabled=false iommuEnabled=false notSafeMode=true notWinPE=true "
         "bootMgrSvn=1 bootRevListInfo=gKGarXBz0wEgAAAACwB23qHlStoMLnZb2zAJmlc5Zazllb2a8N2CQpw-"
         "83gM8w "},
        {"maa_tpm_v1_2_secure_boot.policy", "secureBootEnabled=true "},
        {"maa_tpm_v1_2_elam.policy", "elamDriverLoaded=true "},
    };
    struct att_boot_facts f;
    json_t *ev = decode_all("tpm01_gcp_windows_eventlog.bin", ATT_TPM_ALG_SHA1, &f);
    char *text = json_dumps(ev, JSON_COMPACT);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[160];
        struct att_buf pb;
        struct att_buf got;
        struct att_policy *p = NULL;
        struct att_policy_result r;
        char msg[256] = "";
        snprintf(path, sizeof(path), "../unit/policy/fixtures/%s", cases[i].policy);
        fixture_load(path, &pb);
        EXPECT_OK(att_policy_parse((const char *)pb.data, pb.len, NULL, &p, msg, sizeof(msg)));
        /* twice: the events as text, then with the tree they were written from (as the TPM
         * type gives them): the same claims either way */
        for (int shared = 0; shared < 2; shared++) {
            struct att_claim in[1] = {
                att_claim_string("events", text, ATT_ISSUER_ATTESTATION_SERVICE)};
            in[0].json = shared ? ev : NULL;
            att_err rc = att_policy_eval(p, in, 1, NULL, &r, msg, sizeof(msg));
            if (rc != ATT_OK) {
                fail_msg("%s: %s (%s)", cases[i].policy, att_err_name(rc), msg);
            }
            att_buf_init(&got, 4096);
            for (size_t k = 0; k < r.n_outgoing; k++) {
                const struct att_claim *c = &r.outgoing[k];
                if (c->value_type == ATT_CLAIM_STRING) {
                    EXPECT_OK(att_buf_printf(&got, "%s=%s ", c->type, c->str));
                } else if (c->value_type == ATT_CLAIM_INTEGER) {
                    EXPECT_OK(att_buf_printf(&got, "%s=%lld ", c->type, (long long)c->integer));
                } else {
                    EXPECT_OK(
                        att_buf_printf(&got, "%s=%s ", c->type, c->boolean ? "true" : "false"));
                }
            }
            assert_string_equal(att_buf_cstr(&got), cases[i].claims);
            att_buf_cleanup(&got);
            att_policy_result_cleanup(&r);
        }
        att_policy_free(p);
        att_buf_cleanup(&pb);
    }
    free(text);
    att_boot_facts_free(&f);
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gce_quotes_verify),
        cmocka_unit_test(test_memo),
        cmocka_unit_test(test_windows_quote_verifies),
        cmocka_unit_test(test_spki_ak_verifies),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_quote_fields),
        cmocka_unit_test(test_ak_attributes),
        cmocka_unit_test(test_logs_parse),
        cmocka_unit_test(test_gce_log_replays),
        cmocka_unit_test(test_windows_log_replays),
        cmocka_unit_test(test_log_altered),
        cmocka_unit_test(test_log_truncations),
        cmocka_unit_test(test_log_limits),
        cmocka_unit_test(test_ccel_replays),
        cmocka_unit_test(test_events_windows),
        cmocka_unit_test(test_events_linux),
        cmocka_unit_test(test_events_forged),
        cmocka_unit_test(test_maa_recipes_on_windows_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
