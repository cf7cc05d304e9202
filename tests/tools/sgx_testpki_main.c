/*
 * sgx_testpki_main.c - command-line front of the test SGX DCAP PKI
 * (src/demo/testpki.h, shared with `attestctl demo`), for black-box tests that need fresh,
 * non-expired evidence: writes DIR/quote.bin, DIR/bundle.json and DIR/root.pem and prints a
 * one-line JSON summary. Test-only; built with -Dtests=true, never installed. Input: the test's
 * arguments.
 *
 *   sgx_testpki --out DIR [--now EPOCH] [--status NAME|below] [--debug] [--report-data HEX] ...
 *   sgx_testpki --out DIR --tdx 4|5 [--tdx-status NAME|below] [--tdx-module-status NAME|below]
 *               [--mrtd HEX96] [--rtmr0 HEX96] ...   (Intel TDX quote and TDX collateral)
 *
 * Also writes DIR/pck_chain.pem (the quote's certification data), and with --count N the files
 * DIR/quotes/quote-NNNNN.bin: N more quotes of the same enclave and collateral, each from a
 * platform of its own (a fresh PCK certificate under the same PCK CA), for the cold-cache
 * benchmark (bench/attest.sh).
 *
 * Run with --help for every option; each maps to one field of struct att_testpki_opts.
 */
#include "demo/testpki.h"

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
    {"--platform-ca", offsetof(struct att_testpki_opts, pck_ca_platform),
     "PCK Platform CA instead of Processor CA"},
    {"--debug", offsetof(struct att_testpki_opts, debug),
     "enclave ATTRIBUTES.DEBUG (TDX: TDATTRIBUTES.DEBUG) set"},
    {"--revoke-pck", offsetof(struct att_testpki_opts, revoke_pck), "PCK CRL lists the leaf"},
    {"--revoke-pck-ca", offsetof(struct att_testpki_opts, revoke_pck_ca),
     "Root CA CRL lists the PCK CA"},
    {"--revoke-tcb-signer", offsetof(struct att_testpki_opts, revoke_tcb_signer),
     "Root CA CRL lists the TCB signing cert"},
    {"--pceid-mismatch", offsetof(struct att_testpki_opts, pceid_mismatch), "TCB info pceId 0001"},
    {"--tcb-info-fmspc-lowercase", offsetof(struct att_testpki_opts, tcb_info_fmspc_lowercase),
     "TCB info fmspc in lower case"},
    {"--qe-mrsigner-wrong", offsetof(struct att_testpki_opts, qe_identity_mrsigner_wrong),
     "QE identity mrsigner differs"},
    {"--qe-isvprodid-wrong", offsetof(struct att_testpki_opts, qe_isvprodid_wrong),
     "QE report ISVPRODID 2 (TDX: 1)"},
    {"--qe-attributes-mismatch", offsetof(struct att_testpki_opts, qe_attributes_mismatch),
     "QE report DEBUG attribute set"},
    {"--corrupt-qe-report-data", offsetof(struct att_testpki_opts, corrupt_qe_report_data),
     "QE report data binding broken"},
    {"--corrupt-qe-report-sig", offsetof(struct att_testpki_opts, corrupt_qe_report_sig),
     "QE report signature broken"},
    {"--corrupt-quote-sig", offsetof(struct att_testpki_opts, corrupt_quote_sig),
     "quote signature broken"},
    {"--corrupt-tcb-info-sig", offsetof(struct att_testpki_opts, corrupt_tcb_info_sig),
     "TCB info signature broken"},
    {"--corrupt-qe-identity-sig", offsetof(struct att_testpki_opts, corrupt_qe_identity_sig),
     "QE identity signature broken"},
    {"--tcb-info-untrusted-signer", offsetof(struct att_testpki_opts, tcb_info_untrusted_signer),
     "TCB info signed under another root"},
    {"--qe-identity-untrusted-signer",
     offsetof(struct att_testpki_opts, qe_identity_untrusted_signer),
     "QE identity signed under another root"},
    {"--chain-root-first", offsetof(struct att_testpki_opts, chain_root_first),
     "PEM chain root, CA, leaf"},
    {"--no-trailing-nul", offsetof(struct att_testpki_opts, no_trailing_nul),
     "no NUL after the PEM chain"},
    {"--tcb-info-other-tee", offsetof(struct att_testpki_opts, tcb_info_other_tee),
     "TCB info of the other TEE (SGX for --tdx, TDX otherwise)"},
    {"--qe-identity-other-tee", offsetof(struct att_testpki_opts, qe_identity_other_tee),
     "QE identity of the other TEE (QE for --tdx, TD_QE otherwise)"},
    {"--tdx-body-size-mismatch", offsetof(struct att_testpki_opts, tdx_body_size_mismatch),
     "v5 body size (and body) of the other TD report"},
    {"--tdx-module-identity-missing",
     offsetof(struct att_testpki_opts, tdx_module_identity_missing),
     "no tdxModuleIdentities entry for TEE_TCB_SVN[1]"},
    {"--tdx-module-identity-mrsigner-wrong",
     offsetof(struct att_testpki_opts, tdx_module_identity_mrsigner_wrong),
     "that identity's mrsigner differs"},
    {"--tdx-module-mrsigner-wrong", offsetof(struct att_testpki_opts, tdx_module_mrsigner_wrong),
     "tdxModule.mrsigner differs (counts only with major 0)"},
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
            "  --isvprodid N  --isvsvn N  --configsvn N\n"
            "Intel TDX (a TDX quote, TDX TCB info and TD_QE identity; --debug sets\n"
            "TDATTRIBUTES.DEBUG, --report-data the TD's REPORTDATA):\n"
            "  --tdx 4|5                  TDX quote version (default: an SGX quote v3)\n"
            "  --tdx-body-type N          v5 body type: 3 TD report 1.5 (default), 2 TD\n"
            "                             report 1.0, 1 SGX report (refused with TDX)\n"
            "  --tdx-status NAME          TDX level by TEE_TCB_SVN[2]: UpToDate (default) ...\n"
            "                             Revoked, below (names as --status)\n"
            "  --tdx-module-status NAME   module level by TEE_TCB_SVN[0]: UpToDate (default),\n"
            "                             OutOfDate, Revoked, below\n"
            "  --tdx-tcb-svn N            TEE_TCB_SVN[2] (overrides --tdx-status)\n"
            "  --tdx-module-svn N         TEE_TCB_SVN[0] (overrides --tdx-module-status)\n"
            "  --tdx-module-major N       TEE_TCB_SVN[1] (default 1 TDX_01; 3 TDX_03; 0 none)\n"
            "  --tee-tcb-svn HEX32        raw TEE_TCB_SVN (overrides the three above)\n"
            "  --tee-tcb-svn2 HEX32       raw TEE_TCB_SVN2 (default TEE_TCB_SVN)\n"
            "  --mrseam HEX96  --mrsignerseam HEX96 (default zero)\n"
            "  --seam-attributes HEX16    SEAMATTRIBUTES (default zero; non-zero is refused)\n"
            "  --td-attributes HEX16      TDATTRIBUTES as in the quote (default\n"
            "                             0000001000000000, SEPT_VE_DISABLE)\n"
            "  --xfam HEX16               XFAM (default E702060000000000)\n"
            "  --mrtd HEX96  --mrconfigid HEX96  --mrowner HEX96  --mrownerconfig HEX96\n"
            "  --rtmr0 HEX96 ... --rtmr3 HEX96  --mrservicetd HEX96\n");
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

/* ECDSA P-256 over SHA-256 as raw r || s (docs/reference/README.md §0). */
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
static int requote(const struct att_testpki *pki, long serial, uint8_t **out, size_t *out_len)
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
    const struct att_testpki_offsets *off = &pki->off;
    size_t total = off->pck_cert_data + (size_t)n;
    uint8_t *q = malloc(total);
    if (q == NULL) {
        goto out;
    }
    memcpy(q, pki->quote, off->pck_cert_data);
    memcpy(q + off->pck_cert_data, pem, (size_t)n);
    put_u32le(q + off->pck_cert_len, (size_t)n);
    if (pki->quote_version > 3) {
        put_u32le(q + off->cert_len, total - (off->cert_len + 4)); /* type 6 around it */
    }
    put_u32le(q + off->sig_len, total - (off->sig_len + 4));
    if (sign_raw(key, q + off->qe_report, ATT_TESTPKI_BODY_LEN, q + off->qe_report_sig) != 0) {
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

static int other_platforms(const struct att_testpki *pki, const char *dir, long long count)
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

static void set_hex(json_t *obj, const char *key, const uint8_t *d, size_t n)
{
    char h[2 * 64 + 1];
    json_object_set_new(obj, key, json_string(hex_of(d, n, h)));
}

/* The TDX members of the summary: what the quote carries and what the levels give. */
static int tdx_summary(json_t *s, const struct att_testpki *pki, const struct att_testpki_opts *o,
                       const char *tdx_status, const char *module_status)
{
    const uint8_t *q = pki->quote;
    const uint8_t *t = q + pki->off.body;
    size_t len = pki->off.body_len;
    json_object_set_new(s, "tdx", json_integer(pki->quote_version));
    if (pki->quote_version == 5) {
        json_object_set_new(s, "body_type", json_integer(q[ATT_TESTPKI_V5_OFF_BODY_TYPE]));
    }
    json_object_set_new(s, "body_len", json_integer((json_int_t)len));
    json_object_set_new(s, "tdx_status",
                        json_string(o->tee_tcb_svn != NULL ? "custom" : tdx_status));
    json_object_set_new(s, "tdx_module_status",
                        json_string(o->tee_tcb_svn != NULL ? "custom" : module_status));
    json_object_set_new(s, "expected_status", json_string(pki->expected_status));
    set_hex(s, "tee_tcb_svn", pki->tee_tcb_svn, 16);
    if (len == ATT_TESTPKI_BODY_LEN) {
        return 0; /* v5 body type 1: an SGX report body, summarised as for SGX */
    }
    static const struct {
        const char *key;
        size_t off;
        size_t len;
    } F[] = {
        {"mrseam", ATT_TESTPKI_T_MRSEAM, 48},
        {"mrsignerseam", ATT_TESTPKI_T_MRSIGNERSEAM, 48},
        {"seam_attributes", ATT_TESTPKI_T_SEAMATTRIBUTES, 8},
        {"td_attributes", ATT_TESTPKI_T_TDATTRIBUTES, 8},
        {"xfam", ATT_TESTPKI_T_XFAM, 8},
        {"mrtd", ATT_TESTPKI_T_MRTD, 48},
        {"mrconfigid", ATT_TESTPKI_T_MRCONFIGID, 48},
        {"mrowner", ATT_TESTPKI_T_MROWNER, 48},
        {"mrownerconfig", ATT_TESTPKI_T_MROWNERCONFIG, 48},
        {"rtmr0", ATT_TESTPKI_T_RTMR(0), 48},
        {"rtmr1", ATT_TESTPKI_T_RTMR(1), 48},
        {"rtmr2", ATT_TESTPKI_T_RTMR(2), 48},
        {"rtmr3", ATT_TESTPKI_T_RTMR(3), 48},
        {"report_data", ATT_TESTPKI_T_REPORTDATA, 64},
        {"tee_tcb_svn2", ATT_TESTPKI_T_TEE_TCB_SVN2, 16},
        {"mrservicetd", ATT_TESTPKI_T_MRSERVICETD, 48},
    };
    for (size_t i = 0; i < sizeof(F) / sizeof(F[0]); i++) {
        if (F[i].off + F[i].len <= len) {
            set_hex(s, F[i].key, t + F[i].off, F[i].len);
        }
    }
    char h6[13];
    json_object_set_new(s, "fmspc", json_string(hex_of(pki->fmspc, 6, h6)));
    json_object_set_new(s, "debug", json_boolean((t[ATT_TESTPKI_T_TDATTRIBUTES] & 1) != 0));
    return 0;
}

int main(int argc, char **argv)
{
    struct att_testpki_opts o;
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
    /* TDX */
    const char *tdx_status = "UpToDate";
    const char *module_status = "UpToDate";
    bool tdx_svn_set = false;
    bool module_svn_set = false;
    uint8_t tee_tcb_svn[16];
    uint8_t tee_tcb_svn2[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t mrservicetd[48];
    /* Hex setters of the TD report: option, buffer, exact length, option field. */
    const struct {
        const char *name;
        uint8_t *buf;
        size_t len;
        const uint8_t **field;
    } HEX_FIELDS[] = {
        {"--tee-tcb-svn", tee_tcb_svn, 16, &o.tee_tcb_svn},
        {"--tee-tcb-svn2", tee_tcb_svn2, 16, &o.tee_tcb_svn2},
        {"--mrseam", mrseam, 48, &o.mr_seam},
        {"--mrsignerseam", mrsignerseam, 48, &o.mr_signer_seam},
        {"--seam-attributes", seam_attributes, 8, &o.seam_attributes},
        {"--td-attributes", td_attributes, 8, &o.td_attributes},
        {"--xfam", xfam, 8, &o.xfam},
        {"--mrtd", mrtd, 48, &o.mr_td},
        {"--mrconfigid", mrconfigid, 48, &o.mr_config_id},
        {"--mrowner", mrowner, 48, &o.mr_owner},
        {"--mrownerconfig", mrownerconfig, 48, &o.mr_owner_config},
        {"--rtmr0", rtmr[0], 48, &o.rtmr[0]},
        {"--rtmr1", rtmr[1], 48, &o.rtmr[1]},
        {"--rtmr2", rtmr[2], 48, &o.rtmr[2]},
        {"--rtmr3", rtmr[3], 48, &o.rtmr[3]},
        {"--mrservicetd", mrservicetd, 48, &o.mr_service_td},
    };

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
        for (size_t k = 0; k < sizeof(HEX_FIELDS) / sizeof(HEX_FIELDS[0]); k++) {
            if (strcmp(a, HEX_FIELDS[k].name) == 0) {
                rc = parse_hex(a, val, HEX_FIELDS[k].buf, HEX_FIELDS[k].len, true);
                *HEX_FIELDS[k].field = HEX_FIELDS[k].buf;
                matched = true;
            }
        }
        if (matched) {
            if (rc != 0) {
                return 2;
            }
            continue;
        }
        if (strcmp(a, "--out") == 0) {
            out_dir = val;
        } else if (strcmp(a, "--count") == 0) {
            rc = parse_int(a, val, 0, 100000, &count);
        } else if (strcmp(a, "--now") == 0) {
            rc = parse_int(a, val, 1, 253402300799LL, &v);
            o.now = v;
        } else if (strcmp(a, "--status") == 0) {
            status = val;
            if (att_testpki_status_svn(status) < 0) {
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
        } else if (strcmp(a, "--tdx") == 0) {
            rc = parse_int(a, val, 4, 5, &v);
            o.tdx = (int)v;
        } else if (strcmp(a, "--tdx-body-type") == 0) {
            rc = parse_int(a, val, 1, 3, &v);
            o.tdx_body_type = (int)v;
        } else if (strcmp(a, "--tdx-status") == 0) {
            tdx_status = val;
            if (att_testpki_status_svn(tdx_status) < 0) {
                fprintf(stderr, "sgx_testpki: unknown TDX status %s\n", tdx_status);
                rc = -1;
            }
        } else if (strcmp(a, "--tdx-module-status") == 0) {
            module_status = val;
            if (att_testpki_module_status_svn(module_status) < 0) {
                fprintf(stderr, "sgx_testpki: unknown module status %s\n", module_status);
                rc = -1;
            }
        } else if (strcmp(a, "--tdx-tcb-svn") == 0) {
            rc = parse_int(a, val, 1, 255, &v);
            o.tdx_tcb_svn = (int)v;
            tdx_svn_set = true;
        } else if (strcmp(a, "--tdx-module-svn") == 0) {
            rc = parse_int(a, val, 1, 255, &v);
            o.tdx_module_svn = (int)v;
            module_svn_set = true;
        } else if (strcmp(a, "--tdx-module-major") == 0) {
            rc = parse_int(a, val, 0, 255, &v);
            o.tdx_module_major = v == 0 ? -1 : (int)v;
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
        o.comp_svn = att_testpki_status_svn(status);
    }
    if (!tdx_svn_set) {
        o.tdx_tcb_svn = att_testpki_status_svn(tdx_status);
    }
    if (!module_svn_set) {
        o.tdx_module_svn = att_testpki_module_status_svn(module_status);
    }
    if (o.tdx == 0 && (o.tdx_body_type != 0 || o.tdx_module_major != 0)) {
        fprintf(stderr, "sgx_testpki: TDX options need --tdx 4|5\n");
        return 2;
    }
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "sgx_testpki: %s: %s\n", out_dir, strerror(errno));
        return 1;
    }

    struct att_testpki pki;
    if (att_testpki_build(&o, &pki) != 0) {
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
    const uint8_t *body = pki.quote + pki.off.body;
    char h32[65];
    char h64[129];
    char h6[13];
    summary = json_object();
    if (summary == NULL) {
        goto out;
    }
    json_object_set_new(summary, "now", json_integer((json_int_t)pki.now));
    json_object_set_new(summary, "status", json_string(comp_set ? "custom" : status));
    if (o.tdx != 0 && tdx_summary(summary, &pki, &o, tdx_svn_set ? "custom" : tdx_status,
                                  module_svn_set ? "custom" : module_status) != 0) {
        goto out;
    }
    if (o.tdx != 0 && pki.off.body_len != ATT_TESTPKI_BODY_LEN) {
        goto print; /* the TD's fields are in; no enclave fields */
    }
    json_object_set_new(summary, "mrenclave",
                        json_string(hex_of(body + ATT_TESTPKI_B_MRENCLAVE, 32, h32)));
    json_object_set_new(summary, "mrsigner",
                        json_string(hex_of(body + ATT_TESTPKI_B_MRSIGNER, 32, h32)));
    json_object_set_new(summary, "report_data",
                        json_string(hex_of(body + ATT_TESTPKI_B_REPORTDATA, 64, h64)));
    json_object_set_new(summary, "fmspc", json_string(hex_of(pki.fmspc, 6, h6)));
    json_object_set_new(summary, "debug", json_boolean(o.debug));
print:
    text = json_dumps(summary, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        goto out;
    }
    printf("%s\n", text);
    rc = 0;
out:
    free(text);
    json_decref(summary);
    att_testpki_free(&pki);
    return rc;
}
