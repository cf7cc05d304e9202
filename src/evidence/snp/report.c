/*
 * report.c - parse SEV-SNP attestation reports (report.h; docs/reference/amd-sev-snp.md §6)
 * through the bounded reader. No verification happens here.
 */
#include "evidence/snp/report.h"

#include <string.h>

#define KEY_INFO_RESERVED 0xFFFFFFE0u /* bits 31:5 */

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* A 72-byte little-endian scalar zero-extended from 48 bytes, as big-endian 48 bytes. */
static bool scalar(const uint8_t le[72], uint8_t be[48])
{
    for (size_t i = 0; i < 48; i++) {
        be[i] = le[47 - i];
    }
    return all_zero(le + 48, 24);
}

/* v3 and later name the product in CPUID family/model (§6.1); v2 leaves it to the caller. */
static enum att_snp_product product_of(uint8_t family, uint8_t model)
{
    if (family == 0x19 && model <= 0x0F) {
        return ATT_SNP_MILAN;
    }
    if (family == 0x19 && model >= 0x10 && model <= 0x1F) {
        return ATT_SNP_GENOA;
    }
    return family == 0x1A ? ATT_SNP_TURIN : ATT_SNP_UNKNOWN;
}

struct att_snp_tcb att_snp_tcb_decode(uint64_t raw, enum att_snp_product product)
{
    struct att_snp_tcb t;
    uint8_t b[8];
    for (size_t i = 0; i < 8; i++) {
        b[i] = (uint8_t)(raw >> (8 * i));
    }
    memset(&t, 0, sizeof(t));
    t.raw = raw;
    if (product == ATT_SNP_TURIN) {
        t.fmc = b[0];
        t.bootloader = b[1];
        t.tee = b[2];
        t.snp = b[3];
    } else {
        t.bootloader = b[0];
        t.tee = b[1];
        t.snp = b[6];
    }
    t.microcode = b[7];
    return t;
}

static att_err body_parse(struct att_rd *r, struct att_snp_report *s, uint32_t *key_info)
{
    uint8_t cpuid[3];
    ATT_TRY(att_rd_u32le(r, &s->version));             /* 0x000 */
    ATT_TRY(att_rd_u32le(r, &s->guest_svn));           /* 0x004 */
    ATT_TRY(att_rd_u64le(r, &s->policy));              /* 0x008 */
    ATT_TRY(att_rd_copy(r, s->family_id, 16));         /* 0x010 */
    ATT_TRY(att_rd_copy(r, s->image_id, 16));          /* 0x020 */
    ATT_TRY(att_rd_u32le(r, &s->vmpl));                /* 0x030 */
    ATT_TRY(att_rd_u32le(r, &s->sig_algo));            /* 0x034 */
    ATT_TRY(att_rd_u64le(r, &s->current_tcb));         /* 0x038 */
    ATT_TRY(att_rd_u64le(r, &s->platform_info));       /* 0x040 */
    ATT_TRY(att_rd_u32le(r, key_info));                /* 0x048 */
    ATT_TRY(att_rd_skip(r, 4));                        /* 0x04C */
    ATT_TRY(att_rd_copy(r, s->report_data, 64));       /* 0x050 */
    ATT_TRY(att_rd_copy(r, s->measurement, 48));       /* 0x090 */
    ATT_TRY(att_rd_copy(r, s->host_data, 32));         /* 0x0C0 */
    ATT_TRY(att_rd_copy(r, s->id_key_digest, 48));     /* 0x0E0 */
    ATT_TRY(att_rd_copy(r, s->author_key_digest, 48)); /* 0x110 */
    ATT_TRY(att_rd_copy(r, s->report_id, 32));         /* 0x140 */
    ATT_TRY(att_rd_copy(r, s->report_id_ma, 32));      /* 0x160 */
    ATT_TRY(att_rd_u64le(r, &s->reported_tcb));        /* 0x180 */
    ATT_TRY(att_rd_copy(r, cpuid, 3));                 /* 0x188 */
    ATT_TRY(att_rd_skip(r, 21));                       /* 0x18B */
    ATT_TRY(att_rd_copy(r, s->chip_id, 64));           /* 0x1A0 */
    ATT_TRY(att_rd_u64le(r, &s->committed_tcb));       /* 0x1E0 */
    ATT_TRY(att_rd_u8(r, &s->current_build));          /* 0x1E8 */
    ATT_TRY(att_rd_u8(r, &s->current_minor));
    ATT_TRY(att_rd_u8(r, &s->current_major));
    ATT_TRY(att_rd_skip(r, 1));
    ATT_TRY(att_rd_u8(r, &s->committed_build)); /* 0x1EC */
    ATT_TRY(att_rd_u8(r, &s->committed_minor));
    ATT_TRY(att_rd_u8(r, &s->committed_major));
    ATT_TRY(att_rd_skip(r, 1));
    ATT_TRY(att_rd_u64le(r, &s->launch_tcb));         /* 0x1F0 */
    ATT_TRY(att_rd_u64le(r, &s->launch_mit_vector));  /* 0x1F8 */
    ATT_TRY(att_rd_u64le(r, &s->current_mit_vector)); /* 0x200 */
    ATT_TRY(att_rd_skip(r, 152));                     /* 0x208 */
    if (s->version >= 3) {
        s->cpuid_fam = cpuid[0];
        s->cpuid_mod = cpuid[1];
        s->cpuid_step = cpuid[2];
        s->product = product_of(cpuid[0], cpuid[1]);
    }
    if (s->version < 5) {
        s->launch_mit_vector = 0; /* reserved before v5 */
        s->current_mit_vector = 0;
    }
    return ATT_OK;
}

static att_err fields_check(struct att_snp_report *s, uint32_t key_info, char *msg, size_t msg_len)
{
    uint32_t key = (key_info >> 2) & 7;
    if (s->version < 2 || s->version > 5) {
        return att_failf(ATT_ERR_SNP_REPORT_VERSION, msg, msg_len,
                         "report version %u is not supported (2 to 5)", s->version);
    }
    if (s->sig_algo != ATT_SNP_SIG_ALGO_ECDSA_P384_SHA384) {
        return att_failf(ATT_ERR_SNP_SIG_ALGO, msg, msg_len,
                         "signature algorithm %u is not ECDSA P-384 with SHA-384 (1)", s->sig_algo);
    }
    if ((key_info & KEY_INFO_RESERVED) != 0 ||
        (key != ATT_SNP_KEY_VCEK && key != ATT_SNP_KEY_VLEK && key != ATT_SNP_KEY_NONE)) {
        return att_failf(ATT_ERR_SNP_REPORT_FIELD, msg, msg_len,
                         "key info 0x%08x has reserved bits or a reserved signing key", key_info);
    }
    /* VMPL 0-3: the privilege levels SEV-SNP defines (ABI spec, "VMPL"); the report says which
     * level asked for it, so a policy can insist on 0 (x-ms-sevsnpvm-vmpl). */
    if (s->vmpl > 3) {
        return att_failf(ATT_ERR_SNP_VMPL, msg, msg_len, "VMPL %u is not 0 to 3", s->vmpl);
    }
    if ((s->policy & ATT_SNP_POLICY_RESERVED_1) == 0) {
        return att_failf(ATT_ERR_SNP_REPORT_FIELD, msg, msg_len,
                         "guest policy 0x%llx has bit 17 clear (the ABI fixes it to 1)",
                         (unsigned long long)s->policy);
    }
    s->author_key_en = (key_info & 1) != 0;
    s->mask_chip_key = (key_info & 2) != 0;
    s->signing_key = (enum att_snp_signing_key)key;
    return ATT_OK;
}

att_err att_snp_report_parse(const uint8_t *p, size_t len, struct att_snp_report *out, char *msg,
                             size_t msg_len)
{
    struct att_snp_report s;
    struct att_rd r;
    uint8_t r_le[72];
    uint8_t s_le[72];
    uint8_t rest[368];
    uint32_t key_info = 0;

    if (p == NULL || out == NULL) {
        return ATT_ERR_ARG;
    }
    if (len < ATT_SNP_REPORT_LEN) {
        return att_failf(ATT_ERR_TRUNCATED, msg, msg_len, "report of %zu bytes is shorter than %d",
                         len, ATT_SNP_REPORT_LEN);
    }
    if (len > ATT_SNP_REPORT_LEN) {
        return att_failf(ATT_ERR_TRAILING, msg, msg_len, "report of %zu bytes is longer than %d",
                         len, ATT_SNP_REPORT_LEN);
    }
    memset(&s, 0, sizeof(s));
    att_rd_init(&r, p, len);
    ATT_TRY(body_parse(&r, &s, &key_info));
    ATT_TRY(att_rd_copy(&r, r_le, sizeof(r_le))); /* 0x2A0 */
    ATT_TRY(att_rd_copy(&r, s_le, sizeof(s_le))); /* 0x2E8 */
    ATT_TRY(att_rd_copy(&r, rest, sizeof(rest))); /* 0x330 */
    ATT_TRY(att_rd_end(&r));
    ATT_TRY(fields_check(&s, key_info, msg, msg_len));
    if (!scalar(r_le, s.sig_r) || !scalar(s_le, s.sig_s) || !all_zero(rest, sizeof(rest))) {
        return att_failf(ATT_ERR_SNP_SIGNATURE_FORMAT, msg, msg_len,
                         "signature R and S must be 48-byte values zero-extended to 72 bytes, "
                         "the rest of the signature area zero");
    }
    s.signed_part.ptr = p;
    s.signed_part.len = ATT_SNP_SIGNED_LEN;
    *out = s;
    return ATT_OK;
}
