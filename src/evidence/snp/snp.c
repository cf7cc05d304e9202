/*
 * snp.c - the SevSnpVm evidence type (docs/reference/maa-api.md §1.3, docs/reference/
 * maa-tokens.md §2.5, §2.9): an AMD SEV-SNP attestation report, verified with its VCEK or VLEK
 * and the chain to the product's ARK (src/evidence/snp/verify.h), and the claims of MAA's
 * x-ms-sevsnpvm-* set plus attestd's own (docs/attestation.md, "SevSnpVm").
 *
 * The evidence ("report" in MAA's body) is the UTF-8 JSON document
 * {"SnpReport": b64url(report), "VcekCertChain": b64url(PEM chain)} that MAA's clients send;
 * VcekCertChain may instead hold the certificate table of an extended report, or be absent
 * (the VCEK is then fetched by CHIP_ID and REPORTED_TCB). Other members (MAA's "Endorsements")
 * are ignored. A bare 1184-byte report is accepted too (its first byte is the version, never
 * '{').
 *
 * Bindings: runtime data to REPORT_DATA[0..32], init-time data to HOST_DATA (all 32 bytes), as
 * MAA documents.
 */
#include "evidence/snp/snp.h"

#include <string.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/json_plain.h"
#include "evidence/common.h"
#include "evidence/snp/verify.h"

#define MAX_DOCUMENT (64 * 1024) /* the JSON document: report and chain, base64url */
#define MAX_CARRIED (48 * 1024)  /* a decoded VcekCertChain (PEM or table) */
/* SnpReport decodes into a buffer with room to spare, so a report of the wrong length reaches
 * the parser and gets its precise code (truncated, trailing bytes). */
#define REPORT_MAX 4096
#define REPORT_B64_MAX (REPORT_MAX * 4 / 3)

struct snp_state {
    struct att_buf report_bytes;
    struct att_buf carried_bytes;
    struct att_snp_report report;
    struct att_snp_carried carried;
    struct att_snp_inputs in;
    struct att_snp_source source; /* where `in` came from (told when the report verified) */
    struct att_snp_verdict verdict;
};

/* PEM text (after optional whitespace), as opposed to a binary certificate table. */
static bool starts_pem(const struct att_buf *b)
{
    static const char begin[] = "-----BEGIN";
    struct att_rd r;
    struct att_bytes head;
    uint8_t c = 0;
    att_rd_init(&r, b->data, b->len);
    while (att_rd_peek_u8(&r, &c) == ATT_OK && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
        att_ignore_err(att_rd_skip(&r, 1)); /* cannot fail: a byte was peeked */
    }
    return att_rd_bytes(&r, sizeof(begin) - 1, &head) == ATT_OK &&
           memcmp(head.ptr, begin, sizeof(begin) - 1) == 0;
}

/* The JSON document's members into the state's buffers. */
static att_err document_parse(struct snp_state *s, struct att_bytes doc, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_SNP_EVIDENCE_FORMAT;
    json_error_t jerr;
    json_t *root = NULL;
    const char *report = NULL;
    const char *chain = NULL;
    size_t report_len = 0;
    size_t chain_len = 0;

    if (doc.len > MAX_DOCUMENT) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len,
                         "SEV-SNP evidence document of %zu bytes is over %d", doc.len,
                         MAX_DOCUMENT);
    }
    /* The plain-JSON fast path first (core/json_plain.h): the document is mostly base64url. */
    if (att_json_plain_load(doc.ptr, doc.len, &root) != ATT_OK) {
        root = json_loadb((const char *)doc.ptr, doc.len, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (!json_is_object(root)) {
        rc = att_failf(ATT_ERR_SNP_EVIDENCE_FORMAT, msg, msg_len,
                       "report is not a JSON object {\"SnpReport\", \"VcekCertChain\"} nor a "
                       "1184-byte SEV-SNP report");
        goto out;
    }
    if (json_unpack_ex(json_object_get(root, "SnpReport"), &jerr, 0, "s%", &report, &report_len) !=
        0) {
        rc = att_failf(ATT_ERR_SNP_EVIDENCE_FORMAT, msg, msg_len,
                       "report.SnpReport is missing or not a string");
        goto out;
    }
    json_t *jchain = json_object_get(root, "VcekCertChain");
    if (jchain != NULL && !json_is_null(jchain) &&
        json_unpack_ex(jchain, &jerr, 0, "s%", &chain, &chain_len) != 0) {
        rc = att_failf(ATT_ERR_SNP_EVIDENCE_FORMAT, msg, msg_len,
                       "report.VcekCertChain is not a string");
        goto out;
    }
    if (report_len > REPORT_B64_MAX ||
        att_b64url_padded(report, report_len, &s->report_bytes) != ATT_OK) {
        rc = att_failf(ATT_ERR_SNP_EVIDENCE_FORMAT, msg, msg_len,
                       "report.SnpReport is not base64url of at most %d bytes", REPORT_MAX);
        goto out;
    }
    if (chain != NULL && att_b64url_padded(chain, chain_len, &s->carried_bytes) != ATT_OK) {
        rc = att_failf(s->carried_bytes.err == ATT_ERR_TOO_LARGE ? ATT_ERR_TOO_LARGE
                                                                 : ATT_ERR_SNP_EVIDENCE_FORMAT,
                       msg, msg_len, "report.VcekCertChain is not base64url of at most %d bytes",
                       MAX_CARRIED);
        goto out;
    }
    rc = ATT_OK;
out:
    json_decref(root);
    return rc;
}

static att_err evidence_parse(struct snp_state *s, struct att_bytes evidence, char *msg,
                              size_t msg_len)
{
    struct att_rd r;
    uint8_t first = 0;
    att_buf_init(&s->report_bytes, REPORT_MAX);
    att_buf_init(&s->carried_bytes, MAX_CARRIED);
    att_rd_init(&r, evidence.ptr, evidence.len);
    if (evidence.len == ATT_SNP_REPORT_LEN && att_rd_peek_u8(&r, &first) == ATT_OK &&
        first != '{') {
        ATT_TRY(att_buf_put(&s->report_bytes, evidence.ptr, evidence.len));
    } else {
        ATT_TRY(document_parse(s, evidence, msg, msg_len));
    }
    if (s->carried_bytes.len > 0) {
        struct att_bytes b = {s->carried_bytes.data, s->carried_bytes.len};
        if (starts_pem(&s->carried_bytes)) {
            s->carried.pem = b;
        } else {
            s->carried.table = b;
        }
    }
    return att_snp_report_parse(s->report_bytes.data, s->report_bytes.len, &s->report, msg,
                                msg_len);
}

static att_err snp_parse(void *state, const struct att_evidence_request *req, char *msg,
                         size_t msg_len)
{
    struct att_bytes evidence = req->evidence;
    return evidence_parse(state, evidence, msg, msg_len);
}

static att_err snp_collateral(void *state, const struct att_evidence_env *env, char *msg,
                              size_t msg_len)
{
    struct snp_state *s = state;
    if (env->snp == NULL) {
        return att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                         "no AMD collateral source is configured");
    }
    s->source = *env->snp;
    return env->snp->get(env->snp->ctx, &s->report, &s->carried, env->now, &s->in, msg, msg_len);
}

static att_err snp_verify(void *state, int64_t now, int64_t grace, char *msg, size_t msg_len)
{
    struct snp_state *s = state;
    ATT_TRY(att_snp_verify(&s->report, &s->in, now, grace, &s->verdict, msg, msg_len));
    if (s->source.verified != NULL) {
        s->source.verified(s->source.ctx, &s->in);
    }
    return ATT_OK;
}

static att_err snp_bind(void *state, const struct att_evidence_request *req, char *msg,
                        size_t msg_len)
{
    const struct att_snp_report *r = &((struct snp_state *)state)->report;
    ATT_TRY(att_evidence_binding(&req->runtime, r->report_data, ATT_ERR_RUNTIME_DATA_BINDING,
                                 "REPORT_DATA", msg, msg_len));
    return att_evidence_binding(&req->init_time, r->host_data, ATT_ERR_INIT_DATA_BINDING,
                                "HOST_DATA", msg, msg_len);
}

/* The SVNs of one TCB_VERSION: `prefix` "" gives MAA's names for REPORTED_TCB. */
static att_err tcb_claims(json_t *t, const char *prefix, const struct att_snp_tcb *tcb, bool turin)
{
    const struct {
        const char *name;
        uint8_t v;
    } c[] = {{"bootloader-svn", tcb->bootloader},
             {"tee-svn", tcb->tee},
             {"snpfw-svn", tcb->snp},
             {"microcode-svn", tcb->microcode},
             {"fmc-svn", tcb->fmc}};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char name[96];
        if (i == 4 && !turin) {
            break;
        }
        snprintf(name, sizeof(name), "x-ms-sevsnpvm-%s%s", prefix, c[i].name);
        ATT_TRY(att_claim_set(t, name, json_integer(c[i].v)));
    }
    return ATT_OK;
}

/* The claims a report yields, in the product's TCB layout (`product`: the verified chain's,
 * or the report's own when inspecting). */
static att_err report_claims(const struct att_snp_report *r, enum att_snp_product product,
                             json_t *t)
{
    const struct {
        const char *name;
        const uint8_t *p;
        size_t n;
    } hex[] = {
        {"x-ms-sevsnpvm-authorkeydigest", r->author_key_digest, 48},
        {"x-ms-sevsnpvm-familyId", r->family_id, 16},
        {"x-ms-sevsnpvm-hostdata", r->host_data, 32},
        {"x-ms-sevsnpvm-idkeydigest", r->id_key_digest, 48},
        {"x-ms-sevsnpvm-imageId", r->image_id, 16},
        {"x-ms-sevsnpvm-launchmeasurement", r->measurement, 48},
        {"x-ms-sevsnpvm-reportdata", r->report_data, 64},
        {"x-ms-sevsnpvm-reportid", r->report_id, 32},
        {"x-ms-sevsnpvm-chipid", r->chip_id, 64},
    };
    const struct {
        const char *name;
        uint64_t bit;
    } bits[] = {
        {"x-ms-sevsnpvm-is-debuggable", ATT_SNP_POLICY_DEBUG},
        {"x-ms-sevsnpvm-migration-allowed", ATT_SNP_POLICY_MIGRATE_MA},
        {"x-ms-sevsnpvm-smt-allowed", ATT_SNP_POLICY_SMT},
        {"x-ms-sevsnpvm-single-socket", ATT_SNP_POLICY_SINGLE_SOCKET},
    };
    bool turin = product == ATT_SNP_TURIN;
    ATT_TRY(att_claim_set(t, "x-ms-attestation-type", json_string("sevsnpvm")));
    ATT_TRY(att_claim_set(t, "x-ms-ver", json_string("1.0")));
    for (size_t i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
        ATT_TRY(att_claim_set_hex(t, hex[i].name, hex[i].p, hex[i].n));
    }
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        ATT_TRY(att_claim_set(t, bits[i].name, json_boolean((r->policy & bits[i].bit) != 0)));
    }
    ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-guestsvn", json_integer(r->guest_svn)));
    ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-vmpl", json_integer(r->vmpl)));
    ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-abi-major", json_integer((r->policy >> 8) & 0xFF)));
    ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-abi-minor", json_integer(r->policy & 0xFF)));
    ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-report-version", json_integer(r->version)));
    if (r->version >= 5) {
        /* Mitigation vectors (v5): bit masks of the mitigations applied, as 16 hex digits. */
        char v[17];
        snprintf(v, sizeof(v), "%016llx", (unsigned long long)r->launch_mit_vector);
        ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-launch-mit-vector", json_string(v)));
        snprintf(v, sizeof(v), "%016llx", (unsigned long long)r->current_mit_vector);
        ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-current-mit-vector", json_string(v)));
    }
    struct att_snp_tcb reported = att_snp_tcb_decode(r->reported_tcb, product);
    struct att_snp_tcb current = att_snp_tcb_decode(r->current_tcb, product);
    struct att_snp_tcb committed = att_snp_tcb_decode(r->committed_tcb, product);
    struct att_snp_tcb launch = att_snp_tcb_decode(r->launch_tcb, product);
    ATT_TRY(tcb_claims(t, "", &reported, turin));
    ATT_TRY(tcb_claims(t, "currenttcb-", &current, turin));
    ATT_TRY(tcb_claims(t, "committedtcb-", &committed, turin));
    return tcb_claims(t, "launchtcb-", &launch, turin);
}

/* The names snp_claims may set (evidence.h: claim_names), those of report_claims and
 * tcb_claims among them (fmc-svn: Turin only; the mitigation vectors: reports from version 5). */
static const char *const snp_claim_names[] = {
    "x-ms-attestation-type",
    "x-ms-ver",
    "x-ms-sevsnpvm-authorkeydigest",
    "x-ms-sevsnpvm-familyId",
    "x-ms-sevsnpvm-hostdata",
    "x-ms-sevsnpvm-idkeydigest",
    "x-ms-sevsnpvm-imageId",
    "x-ms-sevsnpvm-launchmeasurement",
    "x-ms-sevsnpvm-reportdata",
    "x-ms-sevsnpvm-reportid",
    "x-ms-sevsnpvm-chipid",
    "x-ms-sevsnpvm-is-debuggable",
    "x-ms-sevsnpvm-migration-allowed",
    "x-ms-sevsnpvm-smt-allowed",
    "x-ms-sevsnpvm-single-socket",
    "x-ms-sevsnpvm-guestsvn",
    "x-ms-sevsnpvm-vmpl",
    "x-ms-sevsnpvm-abi-major",
    "x-ms-sevsnpvm-abi-minor",
    "x-ms-sevsnpvm-report-version",
    "x-ms-sevsnpvm-launch-mit-vector",
    "x-ms-sevsnpvm-current-mit-vector",
    "x-ms-sevsnpvm-bootloader-svn",
    "x-ms-sevsnpvm-tee-svn",
    "x-ms-sevsnpvm-snpfw-svn",
    "x-ms-sevsnpvm-microcode-svn",
    "x-ms-sevsnpvm-fmc-svn",
    "x-ms-sevsnpvm-currenttcb-bootloader-svn",
    "x-ms-sevsnpvm-currenttcb-tee-svn",
    "x-ms-sevsnpvm-currenttcb-snpfw-svn",
    "x-ms-sevsnpvm-currenttcb-microcode-svn",
    "x-ms-sevsnpvm-currenttcb-fmc-svn",
    "x-ms-sevsnpvm-committedtcb-bootloader-svn",
    "x-ms-sevsnpvm-committedtcb-tee-svn",
    "x-ms-sevsnpvm-committedtcb-snpfw-svn",
    "x-ms-sevsnpvm-committedtcb-microcode-svn",
    "x-ms-sevsnpvm-committedtcb-fmc-svn",
    "x-ms-sevsnpvm-launchtcb-bootloader-svn",
    "x-ms-sevsnpvm-launchtcb-tee-svn",
    "x-ms-sevsnpvm-launchtcb-snpfw-svn",
    "x-ms-sevsnpvm-launchtcb-microcode-svn",
    "x-ms-sevsnpvm-launchtcb-fmc-svn",
    "x-ms-sevsnpvm-product",
    "x-ms-sevsnpvm-signing-key",
    "x-ms-sevsnpvm-csp-id",
    "nonce",
    NULL,
};

static att_err snp_claims(void *state, const struct att_evidence_request *req, json_t *t)
{
    const struct snp_state *s = state;
    const struct att_amd_item *leaf = s->in.leaf;
    ATT_TRY(report_claims(&s->report, s->verdict.product, t));
    ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-product",
                          json_string(att_amd_product_name(s->verdict.product))));
    ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-signing-key",
                          json_string(s->verdict.vlek ? "vlek" : "vcek")));
    if (leaf != NULL && leaf->info.csp_id[0] != '\0') {
        ATT_TRY(att_claim_set(t, "x-ms-sevsnpvm-csp-id", json_string(leaf->info.csp_id)));
    }
    if (req->nonce != NULL) {
        ATT_TRY(att_claim_set(t, "nonce", json_string(req->nonce)));
    }
    return ATT_OK;
}

static void snp_release(void *state)
{
    struct snp_state *s = state;
    att_snp_inputs_release(&s->in);
    att_buf_cleanup(&s->report_bytes);
    att_buf_cleanup(&s->carried_bytes);
}

static att_err snp_inspect(struct att_bytes evidence, json_t **out, char *msg, size_t msg_len)
{
    struct snp_state s;
    json_t *o = NULL;
    json_t *claims = NULL;
    att_err rc;
    memset(&s, 0, sizeof(s));
    rc = evidence_parse(&s, evidence, msg, msg_len);
    if (rc == ATT_OK) {
        rc = ATT_ERR_NOMEM;
        o = json_object();
        claims = json_object();
        if (o != NULL && claims != NULL &&
            report_claims(&s.report, s.report.product, claims) == ATT_OK &&
            json_object_set_new(o, "verified", json_string("UNVERIFIED: parsed only")) == 0 &&
            json_object_set_new(o, "product",
                                json_string(att_amd_product_name(s.report.product))) == 0 &&
            json_object_set_new(o, "signingKey",
                                json_string(s.report.signing_key == ATT_SNP_KEY_VCEK   ? "vcek"
                                            : s.report.signing_key == ATT_SNP_KEY_VLEK ? "vlek"
                                                                                       : "none")) ==
                0 &&
            json_object_set_new(o, "carriedCertificates",
                                json_string(s.carried.pem.len > 0     ? "pem"
                                            : s.carried.table.len > 0 ? "table"
                                                                      : "none")) == 0 &&
            json_object_set(o, "claims", claims) == 0) {
            *out = o;
            o = NULL;
            rc = ATT_OK;
        }
    }
    json_decref(claims);
    json_decref(o);
    snp_release(&s);
    return rc;
}

const struct att_evidence_type att_evidence_snp = {
    .name = "SevSnpVm",
    .cli_name = "snp",
    .policy = ATT_POLICY_SEV_SNP_VM,
    .member = "report",
    .legacy_body = false,
    .verified = "report",
    .since_api_version = "2022-08-01",
    .claim_names = snp_claim_names,
    .aliases = NULL,
    .tcb_status_claim = NULL,
    .state_size = sizeof(struct snp_state),
    .parse = snp_parse,
    .collateral = snp_collateral,
    .verify = snp_verify,
    .bind = snp_bind,
    .claims = snp_claims,
    .release = snp_release,
    .inspect = snp_inspect,
};
