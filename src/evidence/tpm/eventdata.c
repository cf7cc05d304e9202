/*
 * eventdata.c - decode the event data of a replayed log (eventdata.h) through the bounded
 * reader: UEFI variables (UEFI 2.10 §32.4.1 UEFI_VARIABLE_DATA, PFP §10.4.5.1), strings,
 * separators, and Windows' SIPA trees (docs/reference/tcg-event-decoding.md).
 */
#include "evidence/tpm/eventdata.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/codec.h"

#define EV_POST_CODE 0x00000001u
#define EV_ACTION 0x00000005u
#define EV_EVENT_TAG 0x00000006u
#define EV_S_CRTM_VERSION 0x00000008u
#define EV_IPL 0x0000000Du
#define EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define EV_EFI_VARIABLE_BOOT 0x80000002u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define EV_EFI_ACTION 0x80000007u
#define EV_EFI_VARIABLE_BOOT2 0x8000000Cu
#define EV_EFI_VARIABLE_AUTHORITY 0x800000E0u

#define SIPA_MAX_DEPTH 8
#define SIPA_CONTAINER 0x40010000u
#define UTF16_MAX_CHARS 8192

static const char efi_global_guid[] = "8BE4DF61-93CA-11D2-AA0D-00E098032B8C";

/* ---- small decoders ------------------------------------------------------------------------ */

/* UTF-16LE (up to a NUL or the end) as UTF-8; unpaired surrogates become U+FFFD. */
static json_t *utf16_string(struct att_bytes b)
{
    struct att_buf out;
    struct att_rd r;
    uint16_t c = 0;
    size_t n = 0;
    att_buf_init(&out, 4 * UTF16_MAX_CHARS);
    att_rd_init(&r, b.ptr, b.len);
    while (n++ < UTF16_MAX_CHARS && att_rd_u16le(&r, &c) == ATT_OK && c != 0) {
        uint32_t cp = c;
        if (c >= 0xD800 && c <= 0xDBFF) {
            uint16_t lo = 0;
            struct att_rd peek = r;
            if (att_rd_u16le(&peek, &lo) == ATT_OK && lo >= 0xDC00 && lo <= 0xDFFF) {
                r = peek;
                cp = 0x10000 + (((uint32_t)c - 0xD800) << 10) + (lo - 0xDC00);
            } else {
                cp = 0xFFFD;
            }
        } else if (c >= 0xDC00 && c <= 0xDFFF) {
            cp = 0xFFFD;
        }
        uint8_t u[4];
        size_t k;
        if (cp < 0x80) {
            u[0] = (uint8_t)cp;
            k = 1;
        } else if (cp < 0x800) {
            u[0] = (uint8_t)(0xC0 | cp >> 6);
            u[1] = (uint8_t)(0x80 | (cp & 0x3F));
            k = 2;
        } else if (cp < 0x10000) {
            u[0] = (uint8_t)(0xE0 | cp >> 12);
            u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            u[2] = (uint8_t)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            u[0] = (uint8_t)(0xF0 | cp >> 18);
            u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
            u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            u[3] = (uint8_t)(0x80 | (cp & 0x3F));
            k = 4;
        }
        att_ignore_err(att_buf_put(&out, u, k)); /* checked once below */
    }
    json_t *s = att_buf_err(&out) == ATT_OK ? json_stringn((const char *)out.data, out.len) : NULL;
    att_buf_cleanup(&out);
    return s;
}

/* Printable ASCII up to a NUL or the end; other bytes become '?'. */
static json_t *ascii_string(struct att_bytes b)
{
    char *s = malloc(b.len + 1);
    size_t n = 0;
    struct att_rd r;
    uint8_t c = 0;
    if (s == NULL) {
        return NULL;
    }
    att_rd_init(&r, b.ptr, b.len);
    while (att_rd_u8(&r, &c) == ATT_OK && c != 0) {
        s[n++] = (c >= 0x20 && c < 0x7F) || c == '\t' || c == '\n' ? (char)c : '?';
    }
    json_t *j = json_stringn(s, n);
    free(s);
    return j;
}

static json_t *b64url(struct att_bytes b)
{
    struct att_buf out;
    att_buf_init(&out, 4 * b.len / 3 + 8);
    json_t *j = att_b64url_encode(b.ptr, b.len, &out) == ATT_OK
                    ? json_stringn((const char *)out.data, out.len)
                    : NULL;
    att_buf_cleanup(&out);
    return j;
}

static json_t *hex(struct att_bytes b)
{
    struct att_buf out;
    att_buf_init(&out, 2 * b.len + 1);
    json_t *j = att_hex_encode(b.ptr, b.len, &out) == ATT_OK
                    ? json_stringn((const char *)out.data, out.len)
                    : NULL;
    att_buf_cleanup(&out);
    return j;
}

/* EFI_GUID (UEFI 2.10 Appendix A: Data1-3 little-endian) in upper case. */
static void guid_text(const uint8_t g[16], char out[37])
{
    static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = digits[g[order[i]] >> 4];
        out[o++] = digits[g[order[i]] & 15];
    }
    out[o] = '\0';
}

static bool set(json_t *obj, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(obj, key, v) == 0;
}

/* ---- digests --------------------------------------------------------------------------------- */

static bool hashes_to(struct att_bytes data, const struct att_tcg_digest *d)
{
    const EVP_MD *md = att_tpm_md(d->alg);
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    return md != NULL && EVP_Digest(data.ptr, data.len, h, &n, md, NULL) == 1 &&
           n == d->value.len && memcmp(h, d->value.ptr, n) == 0;
}

/* GRUB measures its command lines without the prefix, with or without the NUL (RHEL 8's older
 * GRUB writes "grub_cmd " and "grub_kernel_cmdline " and hashes the NUL). */
static const char *const grub_prefixes[] = {"grub_cmd: ",           "kernel_cmdline: ",
                                            "module_cmdline: ",     "grub_cmd ",
                                            "grub_kernel_cmdline ", NULL};

static bool grub_text(const struct att_tcg_event *e, const struct att_tcg_digest *d,
                      size_t *prefix_len)
{
    for (size_t i = 0; grub_prefixes[i] != NULL; i++) {
        size_t p = strlen(grub_prefixes[i]);
        struct att_bytes rest;
        if (e->data.len <= p || memcmp(e->data.ptr, grub_prefixes[i], p) != 0 ||
            att_bytes_slice(e->data, p, e->data.len - p, &rest) != ATT_OK) {
            continue;
        }
        struct att_bytes no_nul = rest;
        if (no_nul.len > 0 && no_nul.ptr[no_nul.len - 1] == 0) {
            no_nul.len--;
        }
        if (hashes_to(rest, d) || hashes_to(no_nul, d)) {
            *prefix_len = p;
            return true;
        }
    }
    return false;
}

/* ---- SIPA (Windows boot configuration log) --------------------------------------------------- */

enum sipa_kind { S_RAW, S_BOOL, S_NUMBER, S_VALUE, S_UTF16, S_ARRAY, S_HVCI };

struct sipa_name {
    uint32_t id;
    const char *name; /* MAA's JSON name: "EVENT_" + the wbcl.h name */
    enum sipa_kind kind;
};

static const struct sipa_name sipa_names[] = {
    {0x40010001, "EVENT_TRUSTBOUNDARY", S_RAW},
    {0x40010002, "EVENT_ELAM_AGGREGATION", S_RAW},
    {0x40010003, "EVENT_LOADEDMODULE_AGGREGATION", S_ARRAY},
    {0xC0010004, "EVENT_TRUSTPOINT_AGGREGATION", S_RAW},
    {0x00020001, "EVENT_INFORMATION", S_RAW},
    {0x00020002, "EVENT_BOOTCOUNTER", S_NUMBER},
    {0x00020003, "EVENT_TRANSFER_CONTROL", S_VALUE},
    {0x00020004, "EVENT_APPLICATION_RETURN", S_RAW},
    {0x00020005, "EVENT_BITLOCKER_UNLOCK", S_VALUE},
    {0x00020006, "EVENT_EVENTCOUNTER", S_NUMBER},
    {0x00020007, "EVENT_COUNTERID", S_NUMBER},
    {0x00020008, "EVENT_MORBIT_NOT_CANCELABLE", S_VALUE},
    {0x00020009, "EVENT_APPLICATION_SVN", S_NUMBER},
    {0x0002000A, "EVENT_SVN_CHAIN_STATUS", S_VALUE},
    {0x0002000B, "EVENT_MORBIT_API_STATUS", S_VALUE},
    {0x00040001, "EVENT_BOOTDEBUGGING", S_BOOL},
    {0x00040002, "EVENT_BOOT_REVOCATION_LIST", S_RAW},
    {0x00050001, "EVENT_OSKERNELDEBUG", S_BOOL},
    {0x00050002, "EVENT_CODEINTEGRITY", S_BOOL},
    {0x00050003, "EVENT_TESTSIGNING", S_BOOL},
    {0x00050004, "EVENT_DATAEXECUTIONPREVENTION", S_VALUE},
    {0x00050005, "EVENT_SAFEMODE", S_BOOL},
    {0x00050006, "EVENT_WINPE", S_BOOL},
    {0x00050007, "EVENT_PHYSICALADDRESSEXTENSION", S_VALUE},
    {0x00050008, "EVENT_OSDEVICE", S_VALUE},
    {0x00050009, "EVENT_SYSTEMROOT", S_UTF16},
    {0x0005000A, "EVENT_HYPERVISOR_LAUNCH_TYPE", S_VALUE},
    {0x0005000B, "EVENT_HYPERVISOR_PATH", S_UTF16},
    {0x0005000C, "EVENT_HYPERVISOR_IOMMU_POLICY", S_VALUE},
    {0x0005000D, "EVENT_HYPERVISOR_DEBUG", S_BOOL},
    {0x0005000E, "EVENT_DRIVER_LOAD_POLICY", S_VALUE},
    {0x0005000F, "EVENT_SI_POLICY", S_ARRAY},
    {0x00050010, "EVENT_HYPERVISOR_MMIO_NX_POLICY", S_VALUE},
    {0x00050011, "EVENT_HYPERVISOR_MSR_FILTER_POLICY", S_VALUE},
    {0x00050012, "EVENT_VSM_LAUNCH_TYPE", S_VALUE},
    {0x00050013, "EVENT_OS_REVOCATION_LIST", S_RAW},
    {0x00050014, "EVENT_SMT_STATUS", S_VALUE},
    {0x00050021, "EVENT_FLIGHTSIGNING", S_BOOL},
    {0x00050022, "EVENT_PAGEFILE_ENCRYPTION_ENABLED", S_BOOL},
    {0x00050024, "EVENT_HIBERNATION_DISABLED", S_BOOL},
    {0x00050025, "EVENT_DUMPS_DISABLED", S_BOOL},
    {0x00050026, "EVENT_DUMP_ENCRYPTION_ENABLED", S_BOOL},
    {0x00050027, "EVENT_DUMP_ENCRYPTION_KEY_DIGEST", S_RAW},
    {0x00050028, "EVENT_LSAISO_CONFIG", S_VALUE},
    {0x00050029, "EVENT_SBCP_INFO", S_RAW},
    {0x00050030, "EVENT_HYPERVISOR_BOOT_DMA_PROTECTION", S_BOOL},
    {0x00060001, "EVENT_NOAUTHORITY", S_RAW},
    {0x00060002, "EVENT_AUTHORITYPUBKEY", S_RAW},
    {0x00070001, "EVENT_FILEPATH", S_UTF16},
    {0x00070002, "EVENT_IMAGESIZE", S_NUMBER},
    {0x00070003, "EVENT_HASHALGORITHMID", S_NUMBER},
    {0x00070004, "EVENT_AUTHENTICODEHASH", S_RAW},
    {0x00070005, "EVENT_AUTHORITYISSUER", S_UTF16},
    {0x00070006, "EVENT_AUTHORITYSERIAL", S_RAW},
    {0x00070007, "EVENT_IMAGEBASE", S_NUMBER},
    {0x00070008, "EVENT_AUTHORITYPUBLISHER", S_UTF16},
    {0x00070009, "EVENT_AUTHORITYSHA1THUMBPRINT", S_RAW},
    {0x0007000A, "EVENT_IMAGEVALIDATED", S_BOOL},
    {0x0007000B, "EVENT_MODULE_SVN", S_NUMBER},
    {0x00090001, "EVENT_ELAM_KEYNAME", S_UTF16},
    {0x00090002, "EVENT_ELAM_CONFIGURATION", S_RAW},
    {0x00090003, "EVENT_ELAM_POLICY", S_RAW},
    {0x00090004, "EVENT_ELAM_MEASURED", S_RAW},
    {0x000A0001, "EVENT_VBS_VSM_REQUIRED", S_BOOL},
    {0x000A0002, "EVENT_VBS_SECUREBOOT_REQUIRED", S_BOOL},
    {0x000A0003, "EVENT_VBS_IOMMU_REQUIRED", S_BOOL},
    {0x000A0004, "EVENT_VBS_MMIO_NX_REQUIRED", S_BOOL},
    {0x000A0005, "EVENT_VBS_MSR_FILTERING_REQUIRED", S_BOOL},
    {0x000A0006, "EVENT_VBS_MANDATORY_ENFORCEMENT", S_BOOL},
    {0x000A0007, "EVENT_VBS_HVCI_POLICY", S_HVCI},
    {0x000A0008, "EVENT_VBS_MICROSOFT_BOOT_CHAIN_REQUIRED", S_BOOL},
    {0x000C0002, "EVENT_DRTM_SMM", S_VALUE},
};

static const struct sipa_name *sipa_lookup(uint32_t id)
{
    for (size_t i = 0; i < sizeof(sipa_names) / sizeof(sipa_names[0]); i++) {
        if (sipa_names[i].id == id) {
            return &sipa_names[i];
        }
    }
    return NULL;
}

/* A little-endian integer of 1, 2, 4 or 8 bytes. */
static bool le_number(struct att_bytes b, uint64_t *out)
{
    struct att_rd r;
    att_rd_init(&r, b.ptr, b.len);
    *out = 0;
    for (size_t i = 0; i < b.len; i++) {
        uint8_t c = 0;
        att_ignore_err(att_rd_u8(&r, &c)); /* i < b.len */
        *out |= (uint64_t)c << (8 * i);
    }
    return b.len == 1 || b.len == 2 || b.len == 4 || b.len == 8;
}

static json_t *raw_data(struct att_bytes v)
{
    json_t *o = json_object();
    if (o != NULL && !set(o, "RawData", b64url(v))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A leaf's value in MAA's shape (kind from the table; unknown leaves as RawData). */
static json_t *sipa_leaf(const struct sipa_name *n, struct att_bytes v, struct att_boot_facts *f)
{
    uint64_t x = 0;
    enum sipa_kind kind = n != NULL ? n->kind : S_RAW;
    if ((kind == S_BOOL || kind == S_NUMBER || kind == S_VALUE || kind == S_HVCI) &&
        !le_number(v, &x)) {
        kind = S_RAW;
    }
    switch (kind) {
    case S_BOOL: {
        enum att_tri *fact = NULL;
        switch (n->id) {
        case 0x00040001: fact = &f->boot_debugging; break;
        case 0x00050001: fact = &f->kernel_debugging; break;
        case 0x00050005: fact = &f->safe_mode; break;
        case 0x00050006: fact = &f->winpe; break;
        case 0x000A0001: fact = &f->vbs; break;
        case 0x000A0003: fact = &f->iommu; break;
        default: break;
        }
        /* any true among the measurements makes the fact true */
        if (fact != NULL && *fact != ATT_TRUE) {
            *fact = x != 0 ? ATT_TRUE : ATT_FALSE;
        }
        return json_boolean(x != 0);
    }
    case S_NUMBER: return json_integer((json_int_t)x);
    case S_VALUE: return json_pack("{s:I}", "Value", (json_int_t)x);
    case S_HVCI:
        /* The String/Value pair MAA's HVCI recipe queries (docs/reference/tcg-event-decoding.md,
         * "Open points"): the policy's enable bit. */
        return json_pack("{s:s,s:I}", "String", "HypervisorEnforcedCodeIntegrityEnable", "Value",
                         (json_int_t)(x & 1));
    case S_UTF16: return utf16_string(v);
    case S_RAW:
    case S_ARRAY:
    default: return raw_data(v);
    }
}

static att_err sipa_list(struct att_bytes in, unsigned depth, json_t *into,
                         struct att_boot_facts *f);

/* Put `v` (taken) under `name` into `obj`: array kinds always as arrays, a name that repeats
 * as an array of its values. */
static att_err sipa_put(json_t *obj, const char *name, bool array, json_t *v)
{
    json_t *cur = json_object_get(obj, name);
    int rc = -1;
    if (v == NULL) {
        return ATT_ERR_NOMEM;
    }
    if (cur == NULL) {
        rc = json_object_set_new(obj, name, array ? json_pack("[o]", v) : v);
    } else if (json_is_array(cur)) {
        rc = json_array_append_new(cur, v);
    } else {
        rc = json_object_set_new(obj, name, json_pack("[O,o]", cur, v));
    }
    return rc == 0 ? ATT_OK : ATT_ERR_NOMEM;
}

/* One SIPA element (type, size, value) from `r` into `into`. */
static att_err sipa_element(struct att_rd *r, unsigned depth, json_t *into,
                            struct att_boot_facts *f)
{
    uint32_t id = 0;
    uint32_t size = 0;
    struct att_bytes v;
    char unknown[32];
    ATT_TRY(att_rd_u32le(r, &id));
    ATT_TRY(att_rd_u32le(r, &size));
    ATT_TRY(att_rd_bytes(r, size, &v));
    const struct sipa_name *n = sipa_lookup(id);
    const char *name = n != NULL ? n->name : unknown;
    if (n == NULL) {
        snprintf(unknown, sizeof(unknown), "EVENT_0x%08X", id);
    }
    if ((id & SIPA_CONTAINER) == SIPA_CONTAINER) {
        json_t *child = json_object();
        if (child == NULL) {
            return ATT_ERR_NOMEM;
        }
        if (id == 0x40010001) {
            f->windows = true;
        }
        att_err rc = depth < SIPA_MAX_DEPTH ? sipa_list(v, depth + 1, child, f) : ATT_ERR_TOO_LARGE;
        if (rc != ATT_OK) {
            json_decref(child);
            return rc;
        }
        return sipa_put(into, name, n != NULL && n->kind == S_ARRAY, child);
    }
    return sipa_put(into, name, n != NULL && n->kind == S_ARRAY, sipa_leaf(n, v, f));
}

static att_err sipa_list(struct att_bytes in, unsigned depth, json_t *into,
                         struct att_boot_facts *f)
{
    struct att_rd r;
    att_rd_init(&r, in.ptr, in.len);
    while (att_rd_left(&r) > 0) {
        ATT_TRY(sipa_element(&r, depth, into, f));
    }
    return ATT_OK;
}

/* ---- per event ----------------------------------------------------------------------------- */

/* UEFI_VARIABLE_DATA: {VariableGuid, UnicodeName, VariableData}; SecureBoot noted for PCR 7. */
static att_err efi_variable(const struct att_tcg_event *e, json_t *pd, struct att_boot_facts *f)
{
    struct att_rd r;
    uint8_t g[16];
    uint64_t name_chars = 0;
    uint64_t data_len = 0;
    struct att_bytes name;
    struct att_bytes data;
    char guid[37];
    att_rd_init(&r, e->data.ptr, e->data.len);
    ATT_TRY(att_rd_copy(&r, g, 16));
    ATT_TRY(att_rd_u64le(&r, &name_chars));
    ATT_TRY(att_rd_u64le(&r, &data_len));
    ATT_ENSURE(name_chars <= UTF16_MAX_CHARS && data_len <= e->data.len, ATT_ERR_TRUNCATED);
    ATT_TRY(att_rd_bytes(&r, (size_t)name_chars * 2, &name));
    ATT_TRY(att_rd_bytes(&r, (size_t)data_len, &data));
    guid_text(g, guid);
    json_t *uname = utf16_string(name);
    if (!set(pd, "VariableGuid", json_string(guid)) || !set(pd, "UnicodeName", uname) ||
        !set(pd, "VariableData", b64url(data))) {
        return ATT_ERR_NOMEM;
    }
    if (e->type == EV_EFI_VARIABLE_DRIVER_CONFIG && e->index == 7 &&
        strcmp(guid, efi_global_guid) == 0 &&
        strcmp(json_string_value(json_object_get(pd, "UnicodeName")), "SecureBoot") == 0) {
        f->secure_boot = data.len == 1 && data.ptr[0] == 1 ? ATT_TRUE : ATT_FALSE;
    }
    return ATT_OK;
}

/* Whether `s` looks like UTF-16LE text (every odd byte of the first few characters zero). */
static bool looks_utf16(struct att_bytes s)
{
    if (s.len < 4 || s.len % 2 != 0) {
        return false;
    }
    for (size_t i = 1; i < s.len && i < 16; i += 2) {
        if (s.ptr[i] != 0 || s.ptr[i - 1] == 0) {
            return i > 2 && s.ptr[i - 1] == 0; /* the terminator */
        }
    }
    return true;
}

/* ProcessedData of an event whose data is trusted. */
static att_err processed(const struct att_tcg_event *e, size_t prefix, json_t *pd,
                         struct att_boot_facts *f)
{
    switch (e->type) {
    case ATT_EV_SEPARATOR: {
        uint64_t v = 0;
        if (e->data.len == 4 && le_number(e->data, &v)) {
            return set(pd, "Value", json_integer((json_int_t)v)) ? ATT_OK : ATT_ERR_NOMEM;
        }
        return set(pd, "String", ascii_string(e->data)) ? ATT_OK : ATT_ERR_NOMEM;
    }
    case EV_EFI_VARIABLE_DRIVER_CONFIG:
    case EV_EFI_VARIABLE_BOOT:
    case EV_EFI_VARIABLE_BOOT2:
    case EV_EFI_VARIABLE_AUTHORITY:
        if (efi_variable(e, pd, f) == ATT_OK) {
            return ATT_OK;
        }
        json_object_clear(pd);
        return set(pd, "RawData", b64url(e->data)) ? ATT_OK : ATT_ERR_NOMEM;
    case EV_S_CRTM_VERSION:
        return set(pd, "String",
                   looks_utf16(e->data) ? utf16_string(e->data) : ascii_string(e->data))
                   ? ATT_OK
                   : ATT_ERR_NOMEM;
    case EV_IPL:
    case EV_ACTION:
    case EV_EFI_ACTION:
    case EV_POST_CODE: {
        struct att_bytes text = e->data;
        json_t *s = looks_utf16(text) ? utf16_string(text) : ascii_string(text);
        if (!set(pd, "String", s)) {
            return ATT_ERR_NOMEM;
        }
        const char *str = json_string_value(s);
        if (e->type == EV_IPL && e->index == 8 && prefix > 0 &&
            (strncmp(str, "kernel_cmdline: ", 16) == 0 ||
             strncmp(str, "grub_kernel_cmdline ", 20) == 0)) {
            free(f->kernel_cmdline);
            f->kernel_cmdline = strdup(str + (str[0] == 'k' ? 16 : 20));
        } else if (e->type == EV_IPL && e->index == 12 && prefix == 0 && looks_utf16(text)) {
            free(f->kernel_cmdline); /* systemd-stub measures the command line into PCR 12 */
            f->kernel_cmdline = strdup(str);
        }
        return ATT_OK;
    }
    case EV_EVENT_TAG: {
        /* Windows: one SIPA element; other writers' tags stay raw */
        json_t *tree = json_object();
        if (tree == NULL) {
            return ATT_ERR_NOMEM;
        }
        struct att_boot_facts scratch = *f; /* facts count only from a tree that decodes */
        att_err rc = sipa_list(e->data, 0, tree, &scratch);
        if (rc == ATT_OK) {
            *f = scratch;
            rc = json_object_update(pd, tree) == 0 ? ATT_OK : ATT_ERR_NOMEM;
        } else if (rc != ATT_ERR_NOMEM) {
            rc = set(pd, "RawData", b64url(e->data)) ? ATT_OK : ATT_ERR_NOMEM;
        }
        json_decref(tree);
        return rc;
    }
    default: return set(pd, "RawData", b64url(e->data)) ? ATT_OK : ATT_ERR_NOMEM;
    }
}

/* Types whose data must hash to the digest (PFP §10.4.4 separators, §10.4.5 UEFI variables and
 * actions): a mismatch is a forged or broken log. */
static bool must_match(uint32_t type)
{
    return type == ATT_EV_SEPARATOR || type == EV_EFI_VARIABLE_DRIVER_CONFIG ||
           type == EV_EFI_ACTION;
}

static json_t *event_json(const struct att_tcg_event *e)
{
    const char *name = att_tcg_event_type_name(e->type);
    char unknown[32];
    if (name == NULL) {
        snprintf(unknown, sizeof(unknown), "EV_UNKNOWN_0x%08X", e->type);
        name = unknown;
    }
    json_t *digests = json_object();
    json_t *ev = json_pack("{s:I,s:I,s:s,s:I,s:o}", "EventSeq", (json_int_t)e->seq, "PcrIndex",
                           (json_int_t)e->index, "EventTypeString", name, "EventType",
                           (json_int_t)e->type, "Digests", digests);
    if (ev == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < e->ndigests; i++) {
        if (att_tpm_digest_size(e->digest[i].alg) != 0 &&
            !set(digests, att_tpm_alg_name(e->digest[i].alg), hex(e->digest[i].value))) {
            json_decref(ev);
            return NULL;
        }
    }
    return ev;
}

static att_err one_event(const struct att_tcg_event *e, uint16_t bank, json_t *list,
                         struct att_boot_facts *f, char *msg, size_t msg_len)
{
    const struct att_tcg_digest *d = att_tcg_event_digest(e, bank);
    size_t prefix = 0;
    bool trusted =
        d != NULL && (hashes_to(e->data, d) || (e->type == EV_IPL && grub_text(e, d, &prefix)));
    if (!trusted && must_match(e->type)) {
        return att_failf(ATT_ERR_EVENTLOG_EVENT, msg, msg_len,
                         "event %u (%s, PCR %u): its data does not hash to its %s digest",
                         (unsigned)e->seq, att_tcg_event_type_name(e->type), (unsigned)e->index,
                         att_tpm_alg_name(bank));
    }
    if (e->type == EV_EFI_BOOT_SERVICES_APPLICATION && e->index == 4 && d != NULL &&
        json_array_append_new(f->boot_apps, hex(d->value)) != 0) {
        return ATT_ERR_NOMEM;
    }
    json_t *ev = event_json(e);
    if (ev == NULL) {
        return ATT_ERR_NOMEM;
    }
    if (trusted) {
        json_t *pd = json_object();
        att_err rc = pd != NULL ? processed(e, prefix, pd, f) : ATT_ERR_NOMEM;
        if (rc != ATT_OK || json_object_set_new(ev, "ProcessedData", pd) != 0) {
            json_decref(ev);
            return ATT_ERR_NOMEM;
        }
    }
    return json_array_append_new(list, ev) == 0 ? ATT_OK : ATT_ERR_NOMEM;
}

att_err att_tcg_events_decode(const struct att_tcg_log *log, uint32_t verified, uint16_t bank,
                              json_t **events, struct att_boot_facts *facts, char *msg,
                              size_t msg_len)
{
    att_err rc = ATT_OK;
    json_t *list = json_array();
    memset(facts, 0, sizeof(*facts));
    facts->secure_boot = facts->boot_debugging = facts->kernel_debugging = ATT_UNKNOWN;
    facts->safe_mode = facts->winpe = facts->vbs = facts->iommu = ATT_UNKNOWN;
    facts->boot_apps = json_array();
    *events = NULL;
    ATT_CHECK(list != NULL && facts->boot_apps != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < log->nevents; i++) {
        const struct att_tcg_event *e = &log->events[i];
        /* only events the quote proved: extending events of verified PCRs */
        if (e->type == ATT_EV_NO_ACTION || (verified >> e->index & 1u) == 0) {
            continue;
        }
        ATT_GUARD(one_event(e, bank, list, facts, msg, msg_len));
    }
    *events = json_pack("{s:O}", "Events", list);
    ATT_CHECK(*events != NULL, ATT_ERR_NOMEM);
out:
    json_decref(list);
    if (rc != ATT_OK) {
        att_boot_facts_free(facts);
    }
    return rc;
}

void att_boot_facts_free(struct att_boot_facts *f)
{
    json_decref(f->boot_apps);
    f->boot_apps = NULL;
    free(f->kernel_cmdline);
    f->kernel_cmdline = NULL;
}

json_t *att_tpm_pcrs_json(const struct att_tpm_pcrs *pcrs, uint32_t mask)
{
    static const uint16_t algs[ATT_TPM_BANKS] = {ATT_TPM_ALG_SHA1, ATT_TPM_ALG_SHA256,
                                                 ATT_TPM_ALG_SHA384, ATT_TPM_ALG_SHA512};
    json_t *list = json_array();
    for (unsigned i = 0; list != NULL && i < ATT_TPM_PCRS; i++) {
        json_t *d = json_object();
        for (int b = 0; d != NULL && b < ATT_TPM_BANKS; b++) {
            struct att_bytes v = {pcrs->bank[b].value[i], att_tpm_digest_size(algs[b])};
            if ((mask >> i & pcrs->bank[b].have >> i & 1u) != 0 &&
                !set(d, att_tpm_alg_name(algs[b]), hex(v))) {
                json_decref(d);
                d = NULL;
            }
        }
        if (d == NULL) {
            json_decref(list);
            return NULL;
        }
        if (json_object_size(d) == 0) {
            json_decref(d);
            continue;
        }
        if (json_array_append_new(
                list, json_pack("{s:I,s:o}", "Index", (json_int_t)i, "Digests", d)) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list != NULL ? json_pack("{s:o}", "PCRs", list) : NULL;
}
