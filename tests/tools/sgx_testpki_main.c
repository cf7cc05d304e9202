/*
 * sgx_testpki_main.c - command-line front of the test SGX DCAP PKI
 * (tests/unit/evidence/sgx_testpki.h), for black-box tests that need fresh, non-expired
 * evidence: writes DIR/quote.bin, DIR/bundle.json and DIR/root.pem and prints a one-line JSON
 * summary. Test-only; built with -Dtests=true, never installed. Input: the test's arguments.
 *
 *   sgx_testpki --out DIR [--now EPOCH] [--status NAME|below] [--debug] [--report-data HEX] ...
 *
 * Also writes DIR/pck_chain.pem (the quote's certification data), and with --count N the files
 * DIR/quotes/quote-NNNNN.bin: N more quotes of the same enclave and collateral, each from a
 * platform of its own (a fresh PCK certificate under the same PCK CA), for the cold-cache
 * benchmark (bench/attest.sh).
 *
 * Run with --help for every option; each maps to one field of struct sgx_testpki_opts.
 */
#include "sgx_testpki.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>

/* Flags without a value: set one bool of the options. */
static const struct {
    const char *name;
    size_t off;
    const char *help;
} FLAGS[] = {
    {"--platform-ca", offsetof(struct sgx_testpki_opts, pck_ca_platform),
     "PCK Platform CA instead of Processor CA"},
    {"--debug", offsetof(struct sgx_testpki_opts, debug), "enclave ATTRIBUTES.DEBUG set"},
    {"--revoke-pck", offsetof(struct sgx_testpki_opts, revoke_pck), "PCK CRL lists the leaf"},
    {"--revoke-pck-ca", offsetof(struct sgx_testpki_opts, revoke_pck_ca),
     "Root CA CRL lists the PCK CA"},
    {"--revoke-tcb-signer", offsetof(struct sgx_testpki_opts, revoke_tcb_signer),
     "Root CA CRL lists the TCB signing cert"},
    {"--pceid-mismatch", offsetof(struct sgx_testpki_opts, pceid_mismatch), "TCB info pceId 0001"},
    {"--tcb-info-fmspc-lowercase", offsetof(struct sgx_testpki_opts, tcb_info_fmspc_lowercase),
     "TCB info fmspc in lower case"},
    {"--qe-mrsigner-wrong", offsetof(struct sgx_testpki_opts, qe_identity_mrsigner_wrong),
     "QE identity mrsigner differs"},
    {"--qe-isvprodid-wrong", offsetof(struct sgx_testpki_opts, qe_isvprodid_wrong),
     "QE report ISVPRODID 2"},
    {"--qe-attributes-mismatch", offsetof(struct sgx_testpki_opts, qe_attributes_mismatch),
     "QE report DEBUG attribute set"},
    {"--corrupt-qe-report-data", offsetof(struct sgx_testpki_opts, corrupt_qe_report_data),
     "QE report data binding broken"},
    {"--corrupt-qe-report-sig", offsetof(struct sgx_testpki_opts, corrupt_qe_report_sig),
     "QE report signature broken"},
    {"--corrupt-quote-sig", offsetof(struct sgx_testpki_opts, corrupt_quote_sig),
     "quote signature broken"},
    {"--corrupt-tcb-info-sig", offsetof(struct sgx_testpki_opts, corrupt_tcb_info_sig),
     "TCB info signature broken"},
    {"--corrupt-qe-identity-sig", offsetof(struct sgx_testpki_opts, corrupt_qe_identity_sig),
     "QE identity signature broken"},
    {"--tcb-info-untrusted-signer", offsetof(struct sgx_testpki_opts, tcb_info_untrusted_signer),
     "TCB info signed under another root"},
    {"--qe-identity-untrusted-signer",
     offsetof(struct sgx_testpki_opts, qe_identity_untrusted_signer),
     "QE identity signed under another root"},
    {"--chain-root-first", offsetof(struct sgx_testpki_opts, chain_root_first),
     "PEM chain root, CA, leaf"},
    {"--no-trailing-nul", offsetof(struct sgx_testpki_opts, no_trailing_nul),
     "no NUL after the PEM chain"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sgx_testpki --out DIR [options]\n"
            "  --count N                  also N quotes from N distinct platforms (quotes/)\n"
            "  --now EPOCH                base time (default: now)\n"
            "  --status NAME              platform TCB level: UpToDate (default),\n"
            "                             SWHardeningNeeded, ConfigurationNeeded,\n"
            "                             ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
            "                             OutOfDateConfigurationNeeded, Revoked, below\n"
            "  --comp-svn N               all 16 PCK TCB components (overrides --status)\n"
            "  --comp INDEX=SVN           one component (1..16)\n"
            "  --pcesvn N                 PCK pcesvn (default 13; 12 is below every level)\n"
            "  --sgx-type N               PCK SGX type (0..2)\n"
            "  --fmspc HEX12              PCK FMSPC (default 00906ED50000)\n"
            "  --tcb-info-fmspc HEX12     TCB info FMSPC (a mismatch)\n"
            "  --qe-isvsvn N              QE ISVSVN (default 8; 6 OutOfDate, 2 Revoked, 1 none)\n"
            "  --tcb-eval-num N           tcbEvaluationDataNumber (default 17)\n"
            "  --tcb-info-shift SECS      shift TCB info issueDate/nextUpdate\n"
            "  --qe-identity-shift SECS   shift QE identity issueDate/nextUpdate\n"
            "  --root-crl-shift SECS      shift the Root CA CRL window\n"
            "  --pck-crl-shift SECS       shift the PCK CRL window\n"
            "  --pck-cert-shift SECS      shift the PCK leaf validity\n"
            "  --mrenclave HEX64          --mrsigner HEX64\n"
            "  --report-data HEX          up to 64 bytes, zero-padded\n"
            "  --config-id HEX            up to 64 bytes, zero-padded\n"
            "  --cpusvn HEX32             raw CPUSVN\n"
            "  --isvprodid N  --isvsvn N  --configsvn N\n");
    for (size_t i = 0; i < sizeof(FLAGS) / sizeof(FLAGS[0]); i++) {
        bool wide = strlen(FLAGS[i].name) > 26;
        fprintf(f, "  %-26s%s%s\n", FLAGS[i].name, wide ? "\n                             " : " ",
                FLAGS[i].help);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Hex of at most max bytes into out (zero-filled); exact: the length must be max. */
static int parse_hex(const char *opt, const char *s, uint8_t *out, size_t max, bool exact)
{
    size_t n = strlen(s);
    if (n % 2 != 0 || n / 2 > max || (exact && n / 2 != max)) {
        fprintf(stderr, "sgx_testpki: %s wants %s%zu bytes of hex\n", opt, exact ? "" : "at most ",
                max);
        return -1;
    }
    memset(out, 0, max);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]);
        int lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "sgx_testpki: %s: not hex\n", opt);
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int parse_int(const char *opt, const char *s, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "sgx_testpki: %s wants an integer in %lld..%lld\n", opt, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, "sgx_testpki: path too long\n");
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "sgx_testpki: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t w = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || w != len) {
        fprintf(stderr, "sgx_testpki: writing %s failed\n", path);
        return -1;
    }
    return 0;
}

static char *hex_of(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 0xF];
    }
    out[2 * n] = '\0';
    return out;
}

static void put_u32le(uint8_t *p, size_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* ECDSA P-256 over SHA-256 as raw r || s (FORMATS.md §0). */
static int sign_raw(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t out[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t len = sizeof(der);
    ECDSA_SIG *sig = NULL;
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, der, &len, msg, n) == 1;
    const unsigned char *p = der;
    if (ok && (sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) != NULL) {
        ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) == 32 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32) == 32;
    } else {
        ok = 0;
    }
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/*
 * The quote of `pki` from another platform: a fresh PCK certificate (same extension, new key
 * and serial) under the same PCK CA signs the same QE report; the certification data is the
 * new chain. The quote signature and the QE binding are unchanged (same attestation key).
 */
static int requote(const struct sgx_testpki *pki, long serial, uint8_t **out, size_t *out_len)
{
    X509 *leaf = X509_dup(pki->pck_leaf);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    int rc = -1;
    if (leaf == NULL || key == NULL || bio == NULL ||
        ASN1_INTEGER_set(X509_get_serialNumber(leaf), 1000000 + serial) != 1 ||
        X509_set_pubkey(leaf, key) != 1 || X509_sign(leaf, pki->pck_ca_key, EVP_sha256()) == 0 ||
        PEM_write_bio_X509(bio, leaf) != 1 || PEM_write_bio_X509(bio, pki->pck_ca) != 1 ||
        PEM_write_bio_X509(bio, pki->root) != 1 || BIO_write(bio, "", 1) != 1) {
        goto out;
    }
    long n = BIO_get_mem_data(bio, &pem);
    size_t total = SGX_TESTPKI_OFF_CERT_DATA + (size_t)n;
    uint8_t *q = malloc(total);
    if (q == NULL) {
        goto out;
    }
    memcpy(q, pki->quote, SGX_TESTPKI_OFF_CERT_DATA);
    memcpy(q + SGX_TESTPKI_OFF_CERT_DATA, pem, (size_t)n);
    put_u32le(q + SGX_TESTPKI_OFF_CERT_LEN, (size_t)n);
    put_u32le(q + SGX_TESTPKI_OFF_SIG_LEN, total - SGX_TESTPKI_OFF_QUOTE_SIG);
    if (sign_raw(key, q + SGX_TESTPKI_OFF_QE_REPORT, SGX_TESTPKI_BODY_LEN,
                 q + SGX_TESTPKI_OFF_QE_REPORT_SIG) != 0) {
        free(q);
        goto out;
    }
    *out = q;
    *out_len = total;
    rc = 0;
out:
    BIO_free(bio);
    EVP_PKEY_free(key);
    X509_free(leaf);
    return rc;
}

static int other_platforms(const struct sgx_testpki *pki, const char *dir, long long count)
{
    char sub[4096];
    if (count == 0) {
        return 0;
    }
    snprintf(sub, sizeof(sub), "%s/quotes", dir);
    if (mkdir(sub, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "sgx_testpki: %s: %s\n", sub, strerror(errno));
        return -1;
    }
    for (long long i = 0; i < count; i++) {
        uint8_t *q = NULL;
        size_t len = 0;
        char name[32];
        snprintf(name, sizeof(name), "quote-%05lld.bin", i);
        if (requote(pki, (long)i, &q, &len) != 0 || write_file(sub, name, q, len) != 0) {
            free(q);
            fprintf(stderr, "sgx_testpki: cannot make quote %lld\n", i);
            return -1;
        }
        free(q);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sgx_testpki_opts o;
    memset(&o, 0, sizeof(o));
    const char *out_dir = NULL;
    const char *status = "UpToDate";
    bool comp_set = false;
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint8_t report_data[64];
    uint8_t config_id[64];
    uint8_t cpusvn[16];
    uint8_t fmspc[6];
    uint8_t tcb_fmspc[6];
    long long v = 0;
    long long count = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        bool matched = false;
        for (size_t k = 0; k < sizeof(FLAGS) / sizeof(FLAGS[0]); k++) {
            if (strcmp(a, FLAGS[k].name) == 0) {
                bool t = true;
                memcpy((char *)&o + FLAGS[k].off, &t, sizeof(t));
                matched = true;
            }
        }
        if (matched) {
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sgx_testpki: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
        const char *val = argv[++i];
        int rc = 0;
        if (strcmp(a, "--out") == 0) {
            out_dir = val;
        } else if (strcmp(a, "--count") == 0) {
            rc = parse_int(a, val, 0, 100000, &count);
        } else if (strcmp(a, "--now") == 0) {
            rc = parse_int(a, val, 1, 253402300799LL, &v);
            o.now = v;
        } else if (strcmp(a, "--status") == 0) {
            status = val;
            if (sgx_testpki_status_svn(status) < 0) {
                fprintf(stderr, "sgx_testpki: unknown status %s\n", status);
                rc = -1;
            }
        } else if (strcmp(a, "--comp-svn") == 0) {
            rc = parse_int(a, val, 0, 255, &v);
            o.comp_svn = (int)v;
            comp_set = true;
        } else if (strcmp(a, "--comp") == 0) {
            const char *eq = strchr(val, '=');
            char idx[8];
            if (eq == NULL || (size_t)(eq - val) >= sizeof(idx)) {
                fprintf(stderr, "sgx_testpki: --comp wants INDEX=SVN\n");
                rc = -1;
            } else {
                memcpy(idx, val, (size_t)(eq - val));
                idx[eq - val] = '\0';
                rc = parse_int(a, idx, 1, 16, &v);
                o.comp_override_index = (int)v;
                rc = rc != 0 ? rc : parse_int(a, eq + 1, 0, 255, &v);
                o.comp_override_svn = (int)v;
            }
        } else if (strcmp(a, "--pcesvn") == 0) {
            rc = parse_int(a, val, 1, 65535, &v);
            o.pcesvn = (int)v;
        } else if (strcmp(a, "--sgx-type") == 0) {
            rc = parse_int(a, val, 0, 2, &v);
            o.sgx_type = (int)v;
        } else if (strcmp(a, "--fmspc") == 0) {
            rc = parse_hex(a, val, fmspc, 6, true);
            o.fmspc = fmspc;
        } else if (strcmp(a, "--tcb-info-fmspc") == 0) {
            rc = parse_hex(a, val, tcb_fmspc, 6, true);
            o.tcb_info_fmspc = tcb_fmspc;
        } else if (strcmp(a, "--qe-isvsvn") == 0) {
            rc = parse_int(a, val, 1, 65535, &v);
            o.qe_isvsvn = (int)v;
        } else if (strcmp(a, "--tcb-eval-num") == 0) {
            rc = parse_int(a, val, 1, 1 << 30, &v);
            o.tcb_eval_num = (int)v;
        } else if (strcmp(a, "--tcb-info-shift") == 0) {
            rc = parse_int(a, val, -(1LL << 40), 1LL << 40, &v);
            o.tcb_info_date_shift = v;
        } else if (strcmp(a, "--qe-identity-shift") == 0) {
            rc = parse_int(a, val, -(1LL << 40), 1LL << 40, &v);
            o.qe_identity_date_shift = v;
        } else if (strcmp(a, "--root-crl-shift") == 0) {
            rc = parse_int(a, val, -(1LL << 40), 1LL << 40, &v);
            o.root_crl_date_shift = v;
        } else if (strcmp(a, "--pck-crl-shift") == 0) {
            rc = parse_int(a, val, -(1LL << 40), 1LL << 40, &v);
            o.pck_crl_date_shift = v;
        } else if (strcmp(a, "--pck-cert-shift") == 0) {
            rc = parse_int(a, val, -(1LL << 40), 1LL << 40, &v);
            o.pck_cert_date_shift = v;
        } else if (strcmp(a, "--mrenclave") == 0) {
            rc = parse_hex(a, val, mrenclave, 32, true);
            o.mr_enclave = mrenclave;
        } else if (strcmp(a, "--mrsigner") == 0) {
            rc = parse_hex(a, val, mrsigner, 32, true);
            o.mr_signer = mrsigner;
        } else if (strcmp(a, "--report-data") == 0) {
            rc = parse_hex(a, val, report_data, 64, false);
            o.report_data = report_data;
        } else if (strcmp(a, "--config-id") == 0) {
            rc = parse_hex(a, val, config_id, 64, false);
            o.config_id = config_id;
        } else if (strcmp(a, "--cpusvn") == 0) {
            rc = parse_hex(a, val, cpusvn, 16, true);
            o.cpu_svn = cpusvn;
        } else if (strcmp(a, "--isvprodid") == 0) {
            rc = parse_int(a, val, 0, 65535, &v);
            o.isv_prod_id = (uint16_t)v;
        } else if (strcmp(a, "--isvsvn") == 0) {
            rc = parse_int(a, val, 0, 65535, &v);
            o.isv_svn = (uint16_t)v;
        } else if (strcmp(a, "--configsvn") == 0) {
            rc = parse_int(a, val, 0, 65535, &v);
            o.config_svn = (uint16_t)v;
        } else {
            fprintf(stderr, "sgx_testpki: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (rc != 0) {
            return 2;
        }
    }
    if (out_dir == NULL) {
        usage(stderr);
        return 2;
    }
    if (!comp_set) {
        o.comp_svn = sgx_testpki_status_svn(status);
    }
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "sgx_testpki: %s: %s\n", out_dir, strerror(errno));
        return 1;
    }

    struct sgx_testpki pki;
    if (sgx_testpki_build(&o, &pki) != 0) {
        return 1;
    }
    int rc = 1;
    json_t *summary = NULL;
    char *text = NULL;
    if (write_file(out_dir, "quote.bin", pki.quote, pki.quote_len) != 0 ||
        write_file(out_dir, "bundle.json", pki.bundle_json, strlen(pki.bundle_json)) != 0 ||
        write_file(out_dir, "root.pem", pki.root_pem, strlen(pki.root_pem)) != 0 ||
        write_file(out_dir, "pck_chain.pem", pki.pck_chain_pem, strlen(pki.pck_chain_pem)) != 0 ||
        other_platforms(&pki, out_dir, count) != 0) {
        goto out;
    }
    /* What the black-box tests compare claims against. */
    const uint8_t *body = pki.quote + SGX_TESTPKI_OFF_BODY;
    char h32[65];
    char h64[129];
    char h6[13];
    summary = json_object();
    if (summary == NULL) {
        goto out;
    }
    json_object_set_new(summary, "now", json_integer((json_int_t)pki.now));
    json_object_set_new(summary, "status", json_string(comp_set ? "custom" : status));
    json_object_set_new(summary, "mrenclave",
                        json_string(hex_of(body + SGX_TESTPKI_B_MRENCLAVE, 32, h32)));
    json_object_set_new(summary, "mrsigner",
                        json_string(hex_of(body + SGX_TESTPKI_B_MRSIGNER, 32, h32)));
    json_object_set_new(summary, "report_data",
                        json_string(hex_of(body + SGX_TESTPKI_B_REPORTDATA, 64, h64)));
    json_object_set_new(summary, "fmspc", json_string(hex_of(pki.fmspc, 6, h6)));
    json_object_set_new(summary, "debug", json_boolean(o.debug));
    text = json_dumps(summary, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        goto out;
    }
    printf("%s\n", text);
    rc = 0;
out:
    free(text);
    json_decref(summary);
    sgx_testpki_free(&pki);
    return rc;
}
