/*
 * common.c - claim setters and the runtime / init-time data binding shared by the evidence
 * types (common.h).
 */
#include "evidence/common.h"

#include <string.h>

#include "core/buf.h"
#include "core/codec.h"
#include "crypto/ecdsa.h"

att_err att_claim_set(json_t *obj, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new_nocheck(obj, key, v) == 0 ? ATT_OK : ATT_ERR_NOMEM;
}

att_err att_claim_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char hex[129];
    ATT_ENSURE(n <= 64, ATT_ERR_ARG);
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    return att_claim_set(obj, key, json_stringn_nocheck(hex, 2 * n));
}

att_err att_claim_set_b64url(json_t *obj, const char *key, struct att_bytes b)
{
    struct att_buf enc;
    att_buf_init(&enc, 4 * b.len / 3 + 8);
    att_err rc = att_b64url_encode(b.ptr, b.len, &enc);
    if (rc == ATT_OK) {
        rc = att_claim_set(obj, key, json_stringn((const char *)enc.data, enc.len));
    }
    att_buf_cleanup(&enc);
    return rc;
}

att_err att_evidence_binding(const struct att_bound_data *d, const uint8_t field[32], att_err code,
                             const char *field_name, char *msg, size_t msg_len)
{
    uint8_t h[32];
    if (!d->present) {
        return ATT_OK;
    }
    ATT_TRY(att_sha256(d->bytes.ptr, d->bytes.len, h));
    if (memcmp(h, field, sizeof(h)) != 0) {
        return att_failf(
            code, msg, msg_len, "SHA-256 of the %s does not match the first 32 bytes of the %s",
            code == ATT_ERR_RUNTIME_DATA_BINDING ? "runtime data" : "init-time data", field_name);
    }
    return ATT_OK;
}

att_err att_b64url_padded(const char *s, size_t n, struct att_buf *out)
{
    for (int i = 0; i < 2 && n > 0 && s[n - 1] == '='; i++) {
        n--;
    }
    return att_b64url_decode(s, n, out);
}
