/*
 * eventlog.c - TCG event logs through the bounded reader, and their replay (eventlog.h;
 * docs/reference/tpm.md "Event logs"). All integers in a log are little-endian (PFP §10.2).
 */
#include "evidence/tpm/eventlog.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#define LEGACY_DIGEST 20 /* TCG_PCClientPCREvent carries one SHA-1 digest */
#define SPEC_ID_SIGNATURE "Spec ID Event03"
#define STARTUP_LOCALITY "StartupLocality"
#define CCEL_REGISTERS 5 /* MRTD, RTMR0-3 */

static const struct {
    uint32_t type;
    const char *name;
} type_names[] = {
    {0x00000000, "EV_PREBOOT_CERT"},
    {0x00000001, "EV_POST_CODE"},
    {0x00000002, "EV_UNUSED"},
    {0x00000003, "EV_NO_ACTION"},
    {0x00000004, "EV_SEPARATOR"},
    {0x00000005, "EV_ACTION"},
    {0x00000006, "EV_EVENT_TAG"},
    {0x00000007, "EV_S_CRTM_CONTENTS"},
    {0x00000008, "EV_S_CRTM_VERSION"},
    {0x00000009, "EV_CPU_MICROCODE"},
    {0x0000000A, "EV_PLATFORM_CONFIG_FLAGS"},
    {0x0000000B, "EV_TABLE_OF_DEVICES"},
    {0x0000000C, "EV_COMPACT_HASH"},
    {0x0000000D, "EV_IPL"},
    {0x0000000E, "EV_IPL_PARTITION_DATA"},
    {0x0000000F, "EV_NONHOST_CODE"},
    {0x00000010, "EV_NONHOST_CONFIG"},
    {0x00000011, "EV_NONHOST_INFO"},
    {0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS"},
    {0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG"},
    {0x80000002, "EV_EFI_VARIABLE_BOOT"},
    {0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION"},
    {0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER"},
    {0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
    {0x80000006, "EV_EFI_GPT_EVENT"},
    {0x80000007, "EV_EFI_ACTION"},
    {0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB"},
    {0x80000009, "EV_EFI_HANDOFF_TABLES"},
    {0x8000000A, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"},
    {0x8000000B, "EV_EFI_HANDOFF_TABLES2"},
    {0x8000000C, "EV_EFI_VARIABLE_BOOT2"},
    {0x80000010, "EV_EFI_HCRTM_EVENT"},
    {0x800000E0, "EV_EFI_VARIABLE_AUTHORITY"},
    {0x800000E1, "EV_EFI_SPDM_FIRMWARE_BLOB"},
    {0x800000E2, "EV_EFI_SPDM_FIRMWARE_CONFIG"},
};

const char *att_tcg_event_type_name(uint32_t type)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (type_names[i].type == type) {
            return type_names[i].name;
        }
    }
    return NULL;
}

const struct att_tcg_digest *att_tcg_event_digest(const struct att_tcg_event *e, uint16_t alg)
{
    for (size_t i = 0; i < e->ndigests; i++) {
        if (e->digest[i].alg == alg) {
            return &e->digest[i];
        }
    }
    return NULL;
}

void att_tcg_log_free(struct att_tcg_log *log)
{
    free(log->events);
    log->events = NULL;
    log->nevents = 0;
}

/* ---- parsing ---------------------------------------------------------------------------- */

struct parser {
    struct att_rd r;
    struct att_tcg_log *log;
    size_t cap;
    char *msg;
    size_t msg_len;
};

static att_err fail_at(struct parser *p, size_t off, const char *what)
{
    return att_failf(ATT_ERR_EVENTLOG_FORMAT, p->msg, p->msg_len, "event %zu at offset %zu: %s",
                     p->log->nevents, off, what);
}

static att_err push(struct parser *p, const struct att_tcg_event *e)
{
    struct att_tcg_log *log = p->log;
    if (log->nevents == ATT_TCG_MAX_EVENTS) {
        return att_failf(ATT_ERR_TOO_LARGE, p->msg, p->msg_len,
                         "the event log has more than %d events", ATT_TCG_MAX_EVENTS);
    }
    if (log->nevents == p->cap) {
        size_t cap = p->cap == 0 ? 64 : p->cap * 2;
        struct att_tcg_event *n = realloc(log->events, cap * sizeof(*n));
        if (n == NULL) {
            return ATT_ERR_NOMEM;
        }
        log->events = n;
        p->cap = cap;
    }
    log->events[log->nevents] = *e;
    log->events[log->nevents].seq = (uint32_t)log->nevents;
    log->nevents++;
    return ATT_OK;
}

/* Where the log's padding starts: the run of 0xFF (the CCEL area) or zero bytes that ends it, if
 * at least a record header long; the length when there is none. One pass from the end, so that
 * finding it costs O(n) however many records the log has. */
static size_t padding_start(struct att_bytes in)
{
    struct att_bytes last;
    size_t start = in.len;
    if (in.len < 8 || att_bytes_slice(in, in.len - 1, 1, &last) != ATT_OK ||
        (last.ptr[0] != 0x00 && last.ptr[0] != 0xFF)) {
        return in.len;
    }
    uint8_t pad = last.ptr[0];
    struct att_bytes b;
    while (start > 0 && att_bytes_slice(in, start - 1, 1, &b) == ATT_OK && b.ptr[0] == pad) {
        start--;
    }
    return in.len - start >= 8 ? start : in.len;
}

/* The event data; EV_NO_ACTION events may name any register, others must name one there is. */
static att_err event_tail(struct parser *p, size_t at, struct att_tcg_event *e)
{
    uint32_t size = 0;
    if (att_rd_u32le(&p->r, &size) != ATT_OK) {
        return fail_at(p, at, "truncated before the event size");
    }
    if (size > ATT_TCG_MAX_EVENT_DATA) {
        return fail_at(p, at, "event data is larger than 1 MiB");
    }
    if (att_rd_bytes(&p->r, size, &e->data) != ATT_OK) {
        return fail_at(p, at, "event data runs past the end of the log");
    }
    uint32_t max = p->log->kind == ATT_TCG_LOG_CCEL ? CCEL_REGISTERS : ATT_TPM_PCRS;
    if (e->type != ATT_EV_NO_ACTION && e->index >= max) {
        return fail_at(p, at,
                       p->log->kind == ATT_TCG_LOG_CCEL ? "measurement register index is above 4"
                                                        : "PCR index is above 23");
    }
    return ATT_OK;
}

/* TCG_PCClientPCREvent (PFP §10.2.1): index, type, SHA-1 digest, data. */
static att_err legacy_event(struct parser *p, struct att_tcg_event *e)
{
    size_t at = att_rd_offset(&p->r);
    memset(e, 0, sizeof(*e));
    if (att_rd_u32le(&p->r, &e->index) != ATT_OK || att_rd_u32le(&p->r, &e->type) != ATT_OK ||
        att_rd_bytes(&p->r, LEGACY_DIGEST, &e->digest[0].value) != ATT_OK) {
        return fail_at(p, at, "truncated record header");
    }
    e->digest[0].alg = ATT_TPM_ALG_SHA1;
    e->ndigests = 1;
    return event_tail(p, at, e);
}

/* TCG_PCR_EVENT2 (PFP §10.2.2): index, type, TPML_DIGEST_VALUES, data. */
static att_err agile_event(struct parser *p, struct att_tcg_event *e)
{
    size_t at = att_rd_offset(&p->r);
    uint32_t count = 0;
    const struct att_tcg_log *log = p->log;
    memset(e, 0, sizeof(*e));
    if (att_rd_u32le(&p->r, &e->index) != ATT_OK || att_rd_u32le(&p->r, &e->type) != ATT_OK ||
        att_rd_u32le(&p->r, &count) != ATT_OK) {
        return fail_at(p, at, "truncated record header");
    }
    if (count == 0 || count > log->nalgs) {
        return fail_at(p, at, "digest count is zero or above the Spec ID event's algorithms");
    }
    for (uint32_t i = 0; i < count; i++) {
        uint16_t alg = 0;
        size_t k = 0;
        if (att_rd_u16le(&p->r, &alg) != ATT_OK) {
            return fail_at(p, at, "truncated digest list");
        }
        while (k < log->nalgs && log->alg[k] != alg) {
            k++;
        }
        if (k == log->nalgs) {
            return fail_at(p, at, "digest algorithm is not in the Spec ID event");
        }
        if (att_tcg_event_digest(e, alg) != NULL) {
            return fail_at(p, at, "digest algorithm appears twice");
        }
        if (att_rd_bytes(&p->r, log->alg_size[k], &e->digest[i].value) != ATT_OK) {
            return fail_at(p, at, "truncated digest");
        }
        e->digest[i].alg = alg;
        e->ndigests++;
    }
    return event_tail(p, at, e);
}

/* TCG_EfiSpecIdEvent (PFP §10.2.1.1) in the first record's data: the log's algorithms. */
static att_err spec_id(struct parser *p, struct att_bytes data)
{
    struct att_rd r;
    struct att_tcg_log *log = p->log;
    uint32_t n = 0;
    uint8_t vendor = 0;
    att_rd_init(&r, data.ptr, data.len);
    /* signature[16], platformClass u32, specVersionMinor, Major, errata, uintnSize */
    if (att_rd_skip(&r, 16 + 4 + 4) != ATT_OK || att_rd_u32le(&r, &n) != ATT_OK) {
        return fail_at(p, 0, "Spec ID event is truncated");
    }
    if (n == 0 || n > ATT_TCG_MAX_ALGS) {
        return fail_at(p, 0, "Spec ID event lists no algorithm or more than 8");
    }
    for (uint32_t i = 0; i < n; i++) {
        uint16_t alg = 0;
        uint16_t size = 0;
        if (att_rd_u16le(&r, &alg) != ATT_OK || att_rd_u16le(&r, &size) != ATT_OK) {
            return fail_at(p, 0, "Spec ID event algorithm table is truncated");
        }
        size_t want = att_tpm_digest_size(alg);
        if (size == 0 || size > ATT_TPM_DIGEST_MAX || (want != 0 && size != want)) {
            return fail_at(p, 0, "Spec ID event gives an algorithm a wrong digest size");
        }
        for (size_t k = 0; k < log->nalgs; k++) {
            if (log->alg[k] == alg) {
                return fail_at(p, 0, "Spec ID event lists an algorithm twice");
            }
        }
        log->alg[log->nalgs] = alg;
        log->alg_size[log->nalgs] = size;
        log->nalgs++;
    }
    if (att_rd_u8(&r, &vendor) != ATT_OK || att_rd_skip(&r, vendor) != ATT_OK ||
        att_rd_end(&r) != ATT_OK) {
        return fail_at(p, 0, "Spec ID event vendor information does not fill the event");
    }
    return ATT_OK;
}

static bool data_is(struct att_bytes data, const char *sig)
{
    struct att_bytes head;
    return att_bytes_slice(data, 0, strlen(sig) + 1, &head) == ATT_OK &&
           head.ptr[strlen(sig)] == 0 && memcmp(head.ptr, sig, strlen(sig)) == 0;
}

/* A StartupLocality event (PFP §10.4.5.3): the signature, then the locality byte. */
static void startup_locality(struct att_tcg_log *log, const struct att_tcg_event *e)
{
    struct att_bytes loc;
    if (e->type == ATT_EV_NO_ACTION && e->index == 0 && data_is(e->data, STARTUP_LOCALITY) &&
        att_bytes_slice(e->data, sizeof(STARTUP_LOCALITY), 1, &loc) == ATT_OK) {
        log->has_locality = true;
        log->locality = loc.ptr[0];
    }
}

att_err att_tcg_log_parse(struct att_bytes in, enum att_tcg_log_kind kind, struct att_tcg_log *out,
                          char *msg, size_t msg_len)
{
    struct parser p;
    struct att_tcg_event e;
    att_err rc = ATT_OK;

    memset(out, 0, sizeof(*out));
    memset(&p, 0, sizeof(p));
    out->kind = kind;
    p.log = out;
    p.msg = msg;
    p.msg_len = msg_len;
    att_rd_init(&p.r, in.ptr, in.len);
    if (in.len == 0) {
        return att_failf(ATT_ERR_EVENTLOG_FORMAT, msg, msg_len, "the event log is empty");
    }
    /* The first record is always in the legacy form; a crypto-agile log says so in it. */
    ATT_GUARD(legacy_event(&p, &e));
    if (e.type == ATT_EV_NO_ACTION && data_is(e.data, SPEC_ID_SIGNATURE)) {
        out->crypto_agile = true;
        ATT_GUARD(spec_id(&p, e.data));
    } else {
        out->nalgs = 1;
        out->alg[0] = ATT_TPM_ALG_SHA1;
        out->alg_size[0] = LEGACY_DIGEST;
    }
    if (kind == ATT_TCG_LOG_CCEL &&
        (!out->crypto_agile || out->nalgs != 1 || out->alg[0] != ATT_TPM_ALG_SHA384)) {
        rc = att_failf(ATT_ERR_EVENTLOG_FORMAT, msg, msg_len,
                       "a CCEL log must be crypto-agile with SHA-384 digests only");
        goto out;
    }
    ATT_GUARD(push(&p, &e));
    size_t pad = padding_start(in);
    while (att_rd_left(&p.r) > 0) {
        if (att_rd_offset(&p.r) >= pad) {
            break; /* the rest is padding */
        }
        ATT_GUARD(out->crypto_agile ? agile_event(&p, &e) : legacy_event(&p, &e));
        startup_locality(out, &e);
        ATT_GUARD(push(&p, &e));
    }
out:
    if (rc != ATT_OK) {
        att_tcg_log_free(out);
    }
    return rc;
}

/* ---- replay ----------------------------------------------------------------------------- */

static bool log_has(const struct att_tcg_log *log, uint16_t alg)
{
    for (size_t i = 0; i < log->nalgs; i++) {
        if (log->alg[i] == alg) {
            return true;
        }
    }
    return false;
}

att_err att_tcg_log_replay(const struct att_tcg_log *log, uint16_t alg,
                           uint8_t out[ATT_TCG_MAX_INDEX][ATT_TPM_DIGEST_MAX], uint32_t *touched,
                           char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_CRYPTO;
    size_t size = att_tpm_digest_size(alg);
    const EVP_MD *md = att_tpm_md(alg);
    EVP_MD_CTX *ctx = NULL;

    *touched = 0;
    memset(out, 0, (size_t)ATT_TCG_MAX_INDEX * ATT_TPM_DIGEST_MAX);
    if (size == 0 || md == NULL || !log_has(log, alg)) {
        return att_failf(ATT_ERR_EVENTLOG_REPLAY, msg, msg_len, "the event log has no %s digests",
                         att_tpm_alg_name(alg));
    }
    if (log->has_locality && log->kind == ATT_TCG_LOG_TPM) {
        out[0][size - 1] = log->locality;
    }
    ctx = EVP_MD_CTX_new();
    ATT_CHECK(ctx != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < log->nevents; i++) {
        const struct att_tcg_event *e = &log->events[i];
        if (e->type == ATT_EV_NO_ACTION) {
            continue; /* PFP §10.4.1: never extended */
        }
        const struct att_tcg_digest *d = att_tcg_event_digest(e, alg);
        if (d == NULL) {
            rc = att_failf(ATT_ERR_EVENTLOG_FORMAT, msg, msg_len, "event %u has no %s digest",
                           (unsigned)e->seq, att_tpm_alg_name(alg));
            goto out;
        }
        uint8_t *reg = out[e->index]; /* below ATT_TCG_MAX_INDEX: checked while parsing */
        ATT_CHECK(EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, reg, size) == 1 &&
                      EVP_DigestUpdate(ctx, d->value.ptr, d->value.len) == 1 &&
                      EVP_DigestFinal_ex(ctx, reg, NULL) == 1,
                  ATT_ERR_CRYPTO);
        *touched |= 1u << e->index;
    }
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

static void hex8(const uint8_t *p, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 8; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[16] = '\0';
}

static att_err mismatch(const char *reg, unsigned index, const char *bank, const uint8_t *replayed,
                        const uint8_t *quoted, char *msg, size_t msg_len)
{
    char a[17];
    char b[17];
    hex8(replayed, a);
    hex8(quoted, b);
    return att_failf(ATT_ERR_EVENTLOG_REPLAY, msg, msg_len,
                     "%s %u (%s): the event log replays to %s..., the quoted value is %s...", reg,
                     index, bank, a, b);
}

att_err att_tcg_log_check(const struct att_tcg_log *log, const struct att_tpm_quote *q,
                          const struct att_tpm_pcrs *pcrs, uint32_t *verified, uint16_t *bank,
                          char *msg, size_t msg_len)
{
    uint8_t vals[ATT_TCG_MAX_INDEX][ATT_TPM_DIGEST_MAX];
    uint32_t touched = 0;
    size_t best = 0;
    bool shared = false;

    *verified = 0;
    *bank = 0;
    if (log->kind != ATT_TCG_LOG_TPM) {
        return att_failf(ATT_ERR_EVENTLOG_FORMAT, msg, msg_len, "a CCEL log has no PCRs");
    }
    for (size_t i = 0; i < q->nsel; i++) {
        uint16_t alg = q->sel[i].alg;
        int b = att_tpm_bank_of(alg);
        size_t size = att_tpm_digest_size(alg);
        if (!log_has(log, alg) || b < 0) {
            continue;
        }
        ATT_TRY(att_tcg_log_replay(log, alg, vals, &touched, msg, msg_len));
        uint32_t check = touched & q->sel[i].mask & pcrs->bank[b].have;
        for (unsigned pcr = 0; pcr < ATT_TPM_PCRS; pcr++) {
            if ((check >> pcr & 1u) != 0 &&
                memcmp(vals[pcr], pcrs->bank[b].value[pcr], size) != 0) {
                return mismatch("PCR", pcr, att_tpm_alg_name(alg), vals[pcr],
                                pcrs->bank[b].value[pcr], msg, msg_len);
            }
        }
        shared = true;
        /* Event data is trusted through the digests of one bank, and only for the PCRs that
         * bank proved: a bank that proved nothing lends its digests no weight. */
        if (check != 0 && size > best) {
            best = size;
            *bank = alg;
            *verified = check;
        }
    }
    if (!shared) {
        return att_failf(ATT_ERR_EVENTLOG_REPLAY, msg, msg_len,
                         "the event log carries no PCR bank the quote covers");
    }
    return ATT_OK;
}

att_err att_tcg_log_check_rtmrs(const struct att_tcg_log *log, const uint8_t rtmr[4][48],
                                uint32_t *verified, char *msg, size_t msg_len)
{
    uint8_t vals[ATT_TCG_MAX_INDEX][ATT_TPM_DIGEST_MAX];
    uint32_t touched = 0;

    *verified = 0;
    if (log->kind != ATT_TCG_LOG_CCEL) {
        return att_failf(ATT_ERR_EVENTLOG_FORMAT, msg, msg_len, "not a CCEL log");
    }
    ATT_TRY(att_tcg_log_replay(log, ATT_TPM_ALG_SHA384, vals, &touched, msg, msg_len));
    for (unsigned i = 1; i < CCEL_REGISTERS; i++) {
        if ((touched >> i & 1u) != 0 && memcmp(vals[i], rtmr[i - 1], 48) != 0) {
            return mismatch("RTMR", i - 1, "SHA384", vals[i], rtmr[i - 1], msg, msg_len);
        }
    }
    *verified = touched & 0x1Eu;
    return ATT_OK;
}
