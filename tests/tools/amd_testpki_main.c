/*
 * amd_testpki_main.c - command-line front of the test AMD SEV-SNP PKI
 * (tests/unit/evidence/amd_testpki.h), for black-box tests that need fresh SEV-SNP evidence:
 *
 *   amd_testpki --out DIR --time EPOCH [--product milan|genoa|turin] [--version 2|3|5] [--vlek]
 *               [report fields] [knobs]
 *
 * writes into DIR: ark.pem, ask.pem (asvk.pem with --vlek), leaf.der, chain.pem (leaf, issuer,
 * ARK: the VcekCertChain), kds_chain.pem (ASK or ASVK, then ARK), crl.der (the ARK's CRL of the
 * chain in use), report.bin (1184 bytes), certtable.bin (the extended report's certificate
 * table) and evidence.json (the MAA SevSnpVm document), then prints a one-line JSON summary.
 * Test-only; built with -Dtests=true, never installed. Input: the test's arguments.
 *
 * Run with --help for every option; each maps to one field of struct amd_testpki_opts.
 */
#include "amd_testpki.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

/* Flags without a value: set one bool of the options. */
static const struct {
    const char *name;
    size_t off;
    const char *help;
} FLAGS[] = {
    {"--vlek", offsetof(struct amd_testpki_opts, vlek), "a VLEK under the ASVK signs"},
    {"--author-key-en", offsetof(struct amd_testpki_opts, author_key_en),
     "key information AUTHOR_KEY_EN"},
    {"--hwid-mismatch", offsetof(struct amd_testpki_opts, hwid_mismatch),
     "VCEK hwID differs from CHIP_ID"},
    {"--mask-chip-key", offsetof(struct amd_testpki_opts, mask_chip_key),
     "MASK_CHIP_KEY set, CHIP_ID zero"},
    {"--revoke-ask", offsetof(struct amd_testpki_opts, revoke_ask),
     "ARK's CRL lists the ASK (VLEK: ASVK)"},
    {"--leaf-expired", offsetof(struct amd_testpki_opts, leaf_expired),
     "leaf notAfter one day before --time"},
    {"--leaf-not-yet-valid", offsetof(struct amd_testpki_opts, leaf_not_yet_valid),
     "leaf notBefore one day after --time"},
    {"--wrong-product-ask", offsetof(struct amd_testpki_opts, wrong_product_ask),
     "another product's ASK (ASVK) signs the leaf"},
    {"--vlek-signed-by-ask", offsetof(struct amd_testpki_opts, vlek_signed_by_ask),
     "the ASK, not the ASVK, signs the VLEK"},
    {"--report-signed-by-other-key", offsetof(struct amd_testpki_opts, report_signed_by_other_key),
     "a stray P-384 key signs the report"},
    {"--reported-tcb-above-current", offsetof(struct amd_testpki_opts, reported_tcb_above_current),
     "REPORTED_TCB SNP one above CURRENT_TCB"},
    {"--ucode-high", offsetof(struct amd_testpki_opts, ucode_high),
     "microcode SPL 0xD9 (ucodeSPL 02 02 00 d9)"},
    {"--hwid-der-wrapped", offsetof(struct amd_testpki_opts, hwid_der_wrapped),
     "hwID as a DER OCTET STRING (still valid)"},
    {"--leaf-trailer-field", offsetof(struct amd_testpki_opts, leaf_trailer_field),
     "leaf PSS AlgorithmIdentifier with trailerField"},
};

/* Names of enum values given on the command line. */
struct name_val {
    const char *name;
    int val;
};

static const struct name_val PRODUCTS[] = {
    {"milan", AMD_TESTPKI_MILAN}, {"genoa", AMD_TESTPKI_GENOA}, {"turin", AMD_TESTPKI_TURIN}};
static const struct name_val SPLS[] = {{"bl", AMD_TESTPKI_SPL_BL},
                                       {"tee", AMD_TESTPKI_SPL_TEE},
                                       {"snp", AMD_TESTPKI_SPL_SNP},
                                       {"ucode", AMD_TESTPKI_SPL_UCODE},
                                       {"fmc", AMD_TESTPKI_SPL_FMC}};
static const struct name_val EXTS[] = {{"struct-version", AMD_TESTPKI_EXT_STRUCT_VERSION},
                                       {"product-name", AMD_TESTPKI_EXT_PRODUCT_NAME},
                                       {"bl", AMD_TESTPKI_EXT_BL_SPL},
                                       {"tee", AMD_TESTPKI_EXT_TEE_SPL},
                                       {"snp", AMD_TESTPKI_EXT_SNP_SPL},
                                       {"ucode", AMD_TESTPKI_EXT_UCODE_SPL},
                                       {"fmc", AMD_TESTPKI_EXT_FMC_SPL},
                                       {"hwid", AMD_TESTPKI_EXT_HWID},
                                       {"csp-id", AMD_TESTPKI_EXT_CSP_ID}};
static const struct name_val PSS[] = {{"salt32", AMD_TESTPKI_PSS_SALT32},
                                      {"sha256", AMD_TESTPKI_PSS_SHA256}};
static const struct name_val SIGS[] = {{"ark", AMD_TESTPKI_SIG_ARK},
                                       {"ask", AMD_TESTPKI_SIG_ASK},
                                       {"leaf", AMD_TESTPKI_SIG_LEAF},
                                       {"crl", AMD_TESTPKI_SIG_CRL}};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: amd_testpki --out DIR --time EPOCH [options]\n"
        "Writes ark.pem, ask.pem (asvk.pem with --vlek), leaf.der, chain.pem, kds_chain.pem,\n"
        "crl.der, report.bin, certtable.bin and evidence.json into DIR.\n"
        "  --out DIR                  output directory (created if missing)\n"
        "  --time EPOCH               base time, seconds since the epoch\n"
        "  --product NAME             milan (default), genoa, turin\n"
        "  --version N                report version 2, 3 (default) or 5\n"
        "  --rsa-bits N               ARK/ASK/ASVK key size (default 2048; AMD's: 4096)\n"
        "  --csp-id TEXT              VLEK cspID (default CN=cc-us-east-2.amazonaws.com)\n"
        "Report fields (hex is exact length unless noted):\n"
        "  --guest-svn N  --vmpl N  --platform-info N  --policy N (default 0x30000)\n"
        "  --family-id HEX32  --image-id HEX32  --report-data HEX (up to 64 bytes)\n"
        "  --measurement HEX96  --host-data HEX64  --id-key-digest HEX96\n"
        "  --author-key-digest HEX96  --report-id HEX64  --report-id-ma HEX64\n"
        "  --chip-id HEX128           (Turin keeps the first 8 bytes)\n"
        "  --cpuid HEX6               CPUID family, model, stepping (v3 on)\n"
        "  --launch-mit N  --current-mit N   mitigation vectors (v5)\n"
        "  --reported-tcb SPEC        e.g. bl=3,tee=1,snp=8,ucode=115[,fmc=1]; fields left\n"
        "                             out keep the product's default\n"
        "  --current-tcb SPEC  --committed-tcb SPEC  --launch-tcb SPEC\n"
        "                             over REPORTED_TCB (default: REPORTED_TCB before the\n"
        "                             knobs)\n"
        "  --current-fw MAJ.MIN.BUILD  --committed-fw MAJ.MIN.BUILD (default 1.55.29)\n"
        "Knobs (each breaks one check):\n"
        "  --tcb-mismatch SPL         leaf SPL one off REPORTED_TCB: bl, tee, snp, ucode, fmc\n"
        "  --missing-ext NAME         leaf lacks it: struct-version, product-name, bl, tee,\n"
        "                             snp, ucode, fmc, hwid, csp-id\n"
        "  --pss VARIANT              salt32 or sha256 PSS parameters ...\n"
        "  --pss-sigs LIST            ... on these signatures: ark,ask,leaf,crl (default leaf)\n");
    for (size_t i = 0; i < N_OF(FLAGS); i++) {
        bool wide = strlen(FLAGS[i].name) > 26;
        fprintf(f, "  %-26s%s%s\n", FLAGS[i].name, wide ? "\n                             " : " ",
                FLAGS[i].help);
    }
}

static int lookup(const char *opt, const char *s, const struct name_val *t, size_t n, int *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, t[i].name) == 0) {
            *out = t[i].val;
            return 0;
        }
    }
    fprintf(stderr, "amd_testpki: %s: unknown value %s\n", opt, s);
    return -1;
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
        fprintf(stderr, "amd_testpki: %s wants %s%zu bytes of hex\n", opt, exact ? "" : "at most ",
                max);
        return -1;
    }
    memset(out, 0, max);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]);
        int lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "amd_testpki: %s: not hex\n", opt);
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int parse_u64(const char *opt, const char *s, unsigned long long hi, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > hi) {
        fprintf(stderr, "amd_testpki: %s wants an integer in 0..%llu\n", opt, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* "bl=3,tee=1,snp=8,ucode=115,fmc=1" over `tcb` (fields left out unchanged). */
static int parse_tcb(const char *opt, const char *s, struct amd_testpki_tcb *tcb)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%s", s);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        fprintf(stderr, "amd_testpki: %s: too long\n", opt);
        return -1;
    }
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        unsigned long long v = 0;
        if (eq == NULL) {
            fprintf(stderr, "amd_testpki: %s wants NAME=VALUE items\n", opt);
            return -1;
        }
        *eq = '\0';
        if (parse_u64(opt, eq + 1, 255, &v) != 0) {
            return -1;
        }
        uint8_t *f = strcmp(item, "bl") == 0      ? &tcb->bl
                     : strcmp(item, "tee") == 0   ? &tcb->tee
                     : strcmp(item, "snp") == 0   ? &tcb->snp
                     : strcmp(item, "ucode") == 0 ? &tcb->ucode
                     : strcmp(item, "fmc") == 0   ? &tcb->fmc
                                                  : NULL;
        if (f == NULL) {
            fprintf(stderr, "amd_testpki: %s: unknown SPL %s\n", opt, item);
            return -1;
        }
        *f = (uint8_t)v;
    }
    return 0;
}

/* "MAJOR.MINOR.BUILD" */
static int parse_fw(const char *opt, const char *s, struct amd_testpki_fw *fw)
{
    unsigned major = 0;
    unsigned minor = 0;
    unsigned build = 0;
    char tail = 0;
    if (sscanf(s, "%u.%u.%u%c", &major, &minor, &build, &tail) != 3 || major > 255 || minor > 255 ||
        build > 255) {
        fprintf(stderr, "amd_testpki: %s wants MAJOR.MINOR.BUILD\n", opt);
        return -1;
    }
    fw->major = (uint8_t)major;
    fw->minor = (uint8_t)minor;
    fw->build = (uint8_t)build;
    return 0;
}

static int parse_sigs(const char *opt, const char *s, unsigned *out)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%s", s);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        return -1;
    }
    char *save = NULL;
    *out = 0;
    for (char *item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        int v = 0;
        if (lookup(opt, item, SIGS, N_OF(SIGS), &v) != 0) {
            return -1;
        }
        *out |= (unsigned)v;
    }
    return 0;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, "amd_testpki: path too long\n");
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "amd_testpki: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t w = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || w != len) {
        fprintf(stderr, "amd_testpki: writing %s failed\n", path);
        return -1;
    }
    return 0;
}

static void set_hex(json_t *obj, const char *key, const uint8_t *d, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char s[2 * 64 + 1];
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[d[i] >> 4];
        s[2 * i + 1] = digits[d[i] & 0xF];
    }
    s[2 * n] = '\0';
    json_object_set_new(obj, key, json_string(s));
}

/* What the black-box tests compare claims against. */
static int print_summary(const struct amd_testpki *pki)
{
    const uint8_t *r = pki->report;
    json_t *s = json_object();
    if (s == NULL) {
        return -1;
    }
    json_object_set_new(s, "time", json_integer((json_int_t)pki->now));
    json_object_set_new(s, "product", json_string(amd_testpki_product_name(pki->product)));
    json_object_set_new(s, "version", json_integer(pki->report_version));
    json_object_set_new(s, "signing_key", json_string(pki->vlek ? "VLEK" : "VCEK"));
    set_hex(s, "reported_tcb", r + AMD_TESTPKI_OFF_REPORTED_TCB, 8);
    set_hex(s, "current_tcb", r + AMD_TESTPKI_OFF_CURRENT_TCB, 8);
    set_hex(s, "chip_id", r + AMD_TESTPKI_OFF_CHIP_ID, 64);
    set_hex(s, "measurement", r + AMD_TESTPKI_OFF_MEASUREMENT, 48);
    set_hex(s, "report_data", r + AMD_TESTPKI_OFF_REPORT_DATA, 64);
    set_hex(s, "host_data", r + AMD_TESTPKI_OFF_HOST_DATA, 32);
    char *text = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(s);
    if (text == NULL) {
        return -1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

static int write_outputs(const struct amd_testpki *pki, const char *dir)
{
    const struct amd_testpki_blob *crl = pki->vlek ? &pki->crl_vlek_der : &pki->crl_vcek_der;
    const char *mid_pem = pki->vlek ? pki->asvk_pem : pki->ask_pem;
    if (write_file(dir, "ark.pem", pki->ark_pem, strlen(pki->ark_pem)) != 0 ||
        write_file(dir, pki->vlek ? "asvk.pem" : "ask.pem", mid_pem, strlen(mid_pem)) != 0 ||
        write_file(dir, "leaf.der", pki->leaf_der.p, pki->leaf_der.len) != 0 ||
        write_file(dir, "chain.pem", pki->chain_pem, strlen(pki->chain_pem)) != 0 ||
        write_file(dir, "kds_chain.pem", pki->kds_chain_pem, strlen(pki->kds_chain_pem)) != 0 ||
        write_file(dir, "crl.der", crl->p, crl->len) != 0 ||
        write_file(dir, "report.bin", pki->report, AMD_TESTPKI_REPORT_LEN) != 0 ||
        write_file(dir, "certtable.bin", pki->cert_table.p, pki->cert_table.len) != 0 ||
        write_file(dir, "evidence.json", pki->maa_evidence_json, strlen(pki->maa_evidence_json)) !=
            0) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct amd_testpki_opts o;
    memset(&o, 0, sizeof(o));
    const char *out_dir = NULL;
    bool time_set = false;
    unsigned long long v = 0;
    int e = 0;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint8_t chip_id[64];
    uint8_t cpuid[3];
    /* TCB specs apply over the product's default, known only once --product is read. */
    const char *tcb_spec[4] = {NULL, NULL, NULL, NULL};
    struct amd_testpki_tcb tcbs[4];
    struct amd_testpki_fw current_fw;
    struct amd_testpki_fw committed_fw;
    /* Hex setters: option, buffer, length, exact, option field. */
    const struct {
        const char *name;
        uint8_t *buf;
        size_t len;
        bool exact;
        const uint8_t **field;
    } HEX_FIELDS[] = {
        {"--family-id", family_id, 16, true, &o.family_id},
        {"--image-id", image_id, 16, true, &o.image_id},
        {"--report-data", report_data, 64, false, &o.report_data},
        {"--measurement", measurement, 48, true, &o.measurement},
        {"--host-data", host_data, 32, true, &o.host_data},
        {"--id-key-digest", id_key_digest, 48, true, &o.id_key_digest},
        {"--author-key-digest", author_key_digest, 48, true, &o.author_key_digest},
        {"--report-id", report_id, 32, true, &o.report_id},
        {"--report-id-ma", report_id_ma, 32, true, &o.report_id_ma},
        {"--chip-id", chip_id, 64, true, &o.chip_id},
        {"--cpuid", cpuid, 3, true, &o.cpuid},
    };
    static const char *const TCB_OPTS[4] = {"--reported-tcb", "--current-tcb", "--committed-tcb",
                                            "--launch-tcb"};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        bool matched = false;
        for (size_t k = 0; k < N_OF(FLAGS); k++) {
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
            fprintf(stderr, "amd_testpki: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
        const char *val = argv[++i];
        int rc = 0;
        for (size_t k = 0; k < N_OF(HEX_FIELDS); k++) {
            if (strcmp(a, HEX_FIELDS[k].name) == 0) {
                rc = parse_hex(a, val, HEX_FIELDS[k].buf, HEX_FIELDS[k].len, HEX_FIELDS[k].exact);
                *HEX_FIELDS[k].field = HEX_FIELDS[k].buf;
                matched = true;
            }
        }
        for (size_t k = 0; k < 4; k++) {
            if (strcmp(a, TCB_OPTS[k]) == 0) {
                tcb_spec[k] = val;
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
        } else if (strcmp(a, "--time") == 0) {
            rc = parse_u64(a, val, 253402300799ULL, &v);
            o.now = (int64_t)v;
            time_set = rc == 0 && v > 0;
        } else if (strcmp(a, "--product") == 0) {
            rc = lookup(a, val, PRODUCTS, N_OF(PRODUCTS), &e);
            o.product = (enum amd_testpki_product)e;
        } else if (strcmp(a, "--version") == 0) {
            rc = parse_u64(a, val, 5, &v);
            o.report_version = (int)v;
        } else if (strcmp(a, "--rsa-bits") == 0) {
            rc = parse_u64(a, val, 8192, &v);
            o.rsa_bits = (int)v;
        } else if (strcmp(a, "--csp-id") == 0) {
            o.csp_id = val;
        } else if (strcmp(a, "--guest-svn") == 0) {
            rc = parse_u64(a, val, UINT32_MAX, &v);
            o.guest_svn = (uint32_t)v;
        } else if (strcmp(a, "--vmpl") == 0) {
            rc = parse_u64(a, val, UINT32_MAX, &v);
            o.vmpl = (uint32_t)v;
        } else if (strcmp(a, "--policy") == 0) {
            rc = parse_u64(a, val, UINT64_MAX, &v);
            o.policy = v;
        } else if (strcmp(a, "--platform-info") == 0) {
            rc = parse_u64(a, val, UINT64_MAX, &v);
            o.platform_info = v;
        } else if (strcmp(a, "--launch-mit") == 0) {
            rc = parse_u64(a, val, UINT64_MAX, &v);
            o.launch_mit_vector = v;
        } else if (strcmp(a, "--current-mit") == 0) {
            rc = parse_u64(a, val, UINT64_MAX, &v);
            o.current_mit_vector = v;
        } else if (strcmp(a, "--current-fw") == 0) {
            rc = parse_fw(a, val, &current_fw);
            o.current_fw = &current_fw;
        } else if (strcmp(a, "--committed-fw") == 0) {
            rc = parse_fw(a, val, &committed_fw);
            o.committed_fw = &committed_fw;
        } else if (strcmp(a, "--tcb-mismatch") == 0) {
            rc = lookup(a, val, SPLS, N_OF(SPLS), &e);
            o.leaf_tcb_mismatch = (enum amd_testpki_spl)e;
        } else if (strcmp(a, "--missing-ext") == 0) {
            rc = lookup(a, val, EXTS, N_OF(EXTS), &e);
            o.leaf_missing_ext = (enum amd_testpki_ext)e;
        } else if (strcmp(a, "--pss") == 0) {
            rc = lookup(a, val, PSS, N_OF(PSS), &e);
            o.pss = (enum amd_testpki_pss)e;
        } else if (strcmp(a, "--pss-sigs") == 0) {
            rc = parse_sigs(a, val, &o.pss_sigs);
        } else {
            fprintf(stderr, "amd_testpki: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (rc != 0) {
            return 2;
        }
    }
    if (out_dir == NULL || !time_set) {
        fprintf(stderr, "amd_testpki: --out and --time are required\n");
        usage(stderr);
        return 2;
    }
    const struct amd_testpki_tcb **tcb_field[4] = {&o.reported_tcb, &o.current_tcb,
                                                   &o.committed_tcb, &o.launch_tcb};
    /* --reported-tcb starts from the product's default, the others from REPORTED_TCB. */
    for (size_t k = 0; k < 4; k++) {
        if (tcb_spec[k] != NULL) {
            tcbs[k] = k == 0 || o.reported_tcb == NULL ? amd_testpki_default_tcb(o.product)
                                                       : *o.reported_tcb;
            if (parse_tcb(TCB_OPTS[k], tcb_spec[k], &tcbs[k]) != 0) {
                return 2;
            }
            *tcb_field[k] = &tcbs[k];
        }
    }
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "amd_testpki: %s: %s\n", out_dir, strerror(errno));
        return 1;
    }

    struct amd_testpki pki;
    if (amd_testpki_build(&o, &pki) != 0) {
        return 1;
    }
    int rc = write_outputs(&pki, out_dir) == 0 && print_summary(&pki) == 0 ? 0 : 1;
    amd_testpki_free(&pki);
    return rc;
}
