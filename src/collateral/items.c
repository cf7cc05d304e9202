/*
 * items.c - the kinds, keys and signatures of the collateral items attestd keeps (items.h).
 *
 * Input trust: records our own code built; the digits of a key come from verified collateral
 * or from a quote and are checked here character by character.
 */
#include "collateral/items.h"

#include <string.h>

/* Exactly n upper-case hex digits, then the end. */
static bool upper_hex(const char *s, size_t n)
{
    if (strnlen(s, n + 1) != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* The first n characters are lower-case hex digits. */
static bool hex_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false; /* also stops at the terminating NUL */
        }
    }
    return true;
}

static bool amd_product(const char *s)
{
    return strncmp(s, "Milan", 5) == 0 || strncmp(s, "Genoa", 5) == 0 ||
           strncmp(s, "Turin", 5) == 0;
}

/* "vcek:<Product>" or "vlek:<Product>" */
static bool amd_chain_key_ok(const char *key)
{
    return (strncmp(key, "vcek:", 5) == 0 || strncmp(key, "vlek:", 5) == 0) &&
           amd_product(key + 5) && key[10] == '\0';
}

/* "<Product>:<hwid hex, 16 digits on Turin, else 128>:<16 hex digits>" */
static bool amd_vcek_key_ok(const char *key)
{
    size_t hwid = strncmp(key, "Turin", 5) == 0 ? 16 : 128;
    return amd_product(key) && key[5] == ':' && hex_run(key + 6, hwid) && key[6 + hwid] == ':' &&
           hex_run(key + 7 + hwid, 16) && key[7 + hwid + 16] == '\0';
}

/* The key shapes of each kind (items.h); Intel documents are signed, CRLs and AMD items are
 * not. */
static bool kind_key_ok(const char *kind, const char *key, bool *document)
{
    *document = false;
    if (strcmp(kind, "root_crl") == 0) {
        return key[0] == '\0';
    }
    if (strcmp(kind, "pck_crl") == 0) {
        return strcmp(key, "processor") == 0 || strcmp(key, "platform") == 0;
    }
    *document = true;
    if (strcmp(kind, "tcb_info") == 0) {
        return (strncmp(key, "sgx:", 4) == 0 || strncmp(key, "tdx:", 4) == 0) &&
               upper_hex(key + 4, 12);
    }
    if (strcmp(kind, "qe_identity") == 0) {
        return strcmp(key, "sgx") == 0 || strcmp(key, "tdx") == 0;
    }
    *document = false;
    if (strcmp(kind, "amd_chain") == 0 || strcmp(kind, "amd_crl") == 0) {
        return amd_chain_key_ok(key);
    }
    return strcmp(kind, "amd_vcek") == 0 && amd_vcek_key_ok(key);
}

#define FIELD_OK(arr) (strnlen((arr), sizeof(arr)) < sizeof(arr))

bool att_collateral_item_ok(const struct att_collateral_rec *r)
{
    bool document = false;
    if (r == NULL || !FIELD_OK(r->scope) || !FIELD_OK(r->kind) || !FIELD_OK(r->key) ||
        !FIELD_OK(r->source)) {
        return false;
    }
    /* AMD items chain to the ARKs (amd_trust_anchors): they have no provider scope. */
    if (r->scope[0] != '\0' && strncmp(r->kind, "amd_", 4) == 0) {
        return false;
    }
    if (!kind_key_ok(r->kind, r->key, &document)) {
        return false;
    }
    if (strcmp(r->source, "pcs") != 0 && strcmp(r->source, "import") != 0 &&
        strcmp(r->source, "kds") != 0) {
        return false;
    }
    return r->signature.err == ATT_OK &&
           r->signature.len == (document ? (size_t)ATT_STORE_COLLATERAL_SIG_LEN : 0);
}

att_err att_collateral_item_put(struct att_store *s, const struct att_collateral_rec *r,
                                bool *replaced)
{
    ATT_ENSURE(att_collateral_item_ok(r), ATT_ERR_ARG);
    return att_store_collateral_put(s, r, replaced);
}
