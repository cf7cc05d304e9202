/*
 * pkcs11.c - the KEK in a PKCS#11 token (see pkcs11.h).
 *
 * Input trust: the URI and PIN file are the operator's (the PIN file checked private like a
 * key file); what the module answers is bounded where we copy it (slot count, attribute sizes,
 * output lengths). Mechanism and attributes follow PKCS#11 v2.40 (OASIS): CKM_AES_KEY_GEN
 * (§2.10.4), CKM_AES_GCM with CK_GCM_PARAMS (§2.12.3).
 */
#include "seal/pkcs11.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "core/codec.h"
#include "core/log.h"
#include "core/mem.h"
#include "crypto/ecdsa.h"
#include "seal/seal.h"

#define SLOTS_MAX 64
#define PIN_MAX 256
#define ATTR_MAX 256
#define TEMPLATE_MAX 16

static const char key_id_label[] = "attestd/kek-id/pkcs11/v1";

struct att_p11 {
    CK_FUNCTION_LIST *m;
    CK_SESSION_HANDLE session;
    bool session_open;
    CK_OBJECT_HANDLE key;
    char id[17];
    pthread_mutex_t lock;
    atomic_uint refs;
};

static att_err fail(char *msg, size_t n, att_err rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static att_err fail(char *msg, size_t n, att_err rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- module ---- */

static CK_FUNCTION_LIST *load_by_name(const char *name)
{
    CK_FUNCTION_LIST **all = p11_kit_modules_load(NULL, 0);
    CK_FUNCTION_LIST *found = NULL;
    for (size_t i = 0; all != NULL && all[i] != NULL; i++) {
        char *n = p11_kit_module_get_name(all[i]);
        if (found == NULL && n != NULL && strcmp(n, name) == 0) {
            found = all[i];
        } else {
            p11_kit_module_release(all[i]);
        }
        free(n);
    }
    free(all);
    return found;
}

static att_err load_module(P11KitUri *uri, struct att_p11 *p, char *msg, size_t n)
{
    const char *path = p11_kit_uri_get_module_path(uri);
    const char *name = p11_kit_uri_get_module_name(uri);
    if (path == NULL && name == NULL) {
        return fail(msg, n, ATT_ERR_ARG, "the URI names no module (module-path or module-name)");
    }
    p->m = path != NULL ? p11_kit_module_load(path, 0) : load_by_name(name);
    if (p->m == NULL) {
        return fail(msg, n, ATT_ERR_IO, "cannot load the PKCS#11 module %s: %s",
                    path != NULL ? path : name, p11_kit_message() ? p11_kit_message() : "");
    }
    CK_RV rv = p11_kit_module_initialize(p->m);
    if (rv != CKR_OK) {
        p11_kit_module_release(p->m);
        p->m = NULL;
        return fail(msg, n, ATT_ERR_IO, "C_Initialize failed (0x%lx)", (unsigned long)rv);
    }
    return ATT_OK;
}

/* The first slot whose token matches the URI; its serial number for the key id. */
static att_err find_token(P11KitUri *uri, struct att_p11 *p, CK_SLOT_ID *slot, char serial[17],
                          char *msg, size_t n)
{
    CK_SLOT_ID slots[SLOTS_MAX];
    CK_ULONG count = SLOTS_MAX;
    CK_RV rv = p->m->C_GetSlotList(CK_TRUE, slots, &count);
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
        return fail(msg, n, ATT_ERR_IO, "C_GetSlotList failed (0x%lx)", (unsigned long)rv);
    }
    count = count > SLOTS_MAX ? SLOTS_MAX : count;
    for (CK_ULONG i = 0; i < count; i++) {
        CK_TOKEN_INFO info;
        if (p->m->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            p11_kit_uri_match_token_info(uri, &info) == 1) {
            *slot = slots[i];
            memcpy(serial, info.serialNumber, 16);
            serial[16] = 0;
            return ATT_OK;
        }
    }
    return fail(msg, n, ATT_ERR_NOT_FOUND, "no token matches the URI");
}

/* pin-value, or pin-source naming a private file ("file:" prefix optional). */
static att_err login(P11KitUri *uri, struct att_p11 *p, char *msg, size_t n)
{
    char pin[PIN_MAX + 1];
    size_t len = 0;
    const char *value = p11_kit_uri_get_pin_value(uri);
    const char *source = p11_kit_uri_get_pin_source(uri);
    att_err rc = ATT_OK;
    if (value != NULL) {
        len = strlen(value);
        if (len > PIN_MAX) {
            return fail(msg, n, ATT_ERR_ARG, "pin-value is longer than %d bytes", PIN_MAX);
        }
        memcpy(pin, value, len);
    } else if (source != NULL) {
        const char *path = strncmp(source, "file:", 5) == 0 ? source + 5 : source;
        rc = att_secret_file_read(path, pin, sizeof(pin), &len);
        if (rc == ATT_OK && len > 0 && pin[len - 1] == '\n') {
            len--; /* one line (CRLF too) */
            len -= len > 0 && pin[len - 1] == '\r' ? 1 : 0;
        }
        if (rc != ATT_OK || len > PIN_MAX) {
            att_wipe(pin, sizeof(pin));
            return fail(msg, n, rc != ATT_OK ? rc : ATT_ERR_ARG, "pin-source %s: %s", path,
                        rc == ATT_ERR_PERM ? "must be a regular file of this user with mode 0600 "
                                             "or 0400"
                        : rc != ATT_OK     ? "cannot read it"
                                           : "longer than 256 bytes");
        }
    } else {
        return fail(msg, n, ATT_ERR_ARG, "the URI gives no PIN (pin-source or pin-value)");
    }
    CK_RV rv = p->m->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len);
    att_wipe(pin, sizeof(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        return fail(msg, n, ATT_ERR_CREDENTIALS, "C_Login failed (0x%lx)%s", (unsigned long)rv,
                    rv == CKR_PIN_INCORRECT ? ": wrong PIN" : "");
    }
    return ATT_OK;
}

/* ---- the key ---- */

/* The URI's object attributes (label, id) and class secret key: the search template. */
static size_t key_template(P11KitUri *uri, CK_ATTRIBUTE *t, CK_OBJECT_CLASS *cls)
{
    size_t k = 0;
    CK_ULONG n_attrs = 0;
    CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(uri, &n_attrs);
    for (CK_ULONG i = 0; i < n_attrs && k < TEMPLATE_MAX - 1; i++) {
        if (attrs[i].type == CKA_LABEL || attrs[i].type == CKA_ID) {
            t[k++] = attrs[i];
        }
    }
    t[k++] = (CK_ATTRIBUTE){CKA_CLASS, cls, sizeof(*cls)};
    return k;
}

static bool has_attr(const CK_ATTRIBUTE *t, size_t n, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].type == type) {
            return true;
        }
    }
    return false;
}

static att_err find_key(P11KitUri *uri, struct att_p11 *p, size_t *found, char *msg, size_t n)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[TEMPLATE_MAX];
    size_t k = key_template(uri, t, &cls);
    if (!has_attr(t, k, CKA_LABEL) && !has_attr(t, k, CKA_ID)) {
        return fail(msg, n, ATT_ERR_ARG, "the URI names no key (object=LABEL or id=...)");
    }
    CK_OBJECT_HANDLE h[2];
    CK_ULONG got = 0;
    CK_RV rv = p->m->C_FindObjectsInit(p->session, t, (CK_ULONG)k);
    if (rv == CKR_OK) {
        rv = p->m->C_FindObjects(p->session, h, 2, &got);
        (void)p->m->C_FindObjectsFinal(p->session);
    }
    if (rv != CKR_OK) {
        return fail(msg, n, ATT_ERR_IO, "C_FindObjects failed (0x%lx)", (unsigned long)rv);
    }
    *found = got;
    if (got == 1) {
        p->key = h[0];
        /* AES-256 and kept in the token, as att_p11_open promises (an AES-128 key or one
         * that can be read out is not a KEK attestd uses). */
        CK_KEY_TYPE type = 0;
        CK_ULONG len = 0;
        CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
        CK_ATTRIBUTE a[] = {{CKA_KEY_TYPE, &type, sizeof(type)},
                            {CKA_VALUE_LEN, &len, sizeof(len)},
                            {CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
                            {CKA_EXTRACTABLE, &extractable, sizeof(extractable)}};
        rv = p->m->C_GetAttributeValue(p->session, p->key, a, 4);
        if (rv != CKR_OK || type != CKK_AES || len != 32 || !sensitive || extractable) {
            return fail(msg, n, ATT_ERR_KEY_TYPE,
                        "the key the URI names is not an AES-256 key that stays in the token "
                        "(sensitive, not extractable)");
        }
    }
    return ATT_OK;
}

static att_err generate_key(P11KitUri *uri, struct att_p11 *p, char *msg, size_t n)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[TEMPLATE_MAX];
    size_t k = key_template(uri, t, &cls);
    if (!has_attr(t, k, CKA_LABEL)) {
        return fail(msg, n, ATT_ERR_ARG, "name the new key with object=LABEL in the URI");
    }
    const CK_ATTRIBUTE more[] = {
        {CKA_KEY_TYPE, &type, sizeof(type)}, {CKA_VALUE_LEN, &len, sizeof(len)},
        {CKA_TOKEN, &yes, sizeof(yes)},      {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},  {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},    {CKA_DECRYPT, &yes, sizeof(yes)},
    };
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]) && k < TEMPLATE_MAX; i++) {
        t[k++] = more[i];
    }
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
    CK_RV rv = p->m->C_GenerateKey(p->session, &mech, t, (CK_ULONG)k, &p->key);
    if (rv != CKR_OK) {
        return fail(msg, n, ATT_ERR_IO, "C_GenerateKey failed (0x%lx)", (unsigned long)rv);
    }
    return ATT_OK;
}

/* Read one attribute of the key (at most ATTR_MAX bytes) into `out`, *len its length. */
static void key_attr(struct att_p11 *p, CK_ATTRIBUTE_TYPE type, uint8_t out[ATTR_MAX],
                     CK_ULONG *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    *len = 0;
    if (p->m->C_GetAttributeValue(p->session, p->key, &a, 1) == CKR_OK &&
        a.ulValueLen != CK_UNAVAILABLE_INFORMATION && a.ulValueLen <= ATTR_MAX) {
        a.pValue = out;
        if (p->m->C_GetAttributeValue(p->session, p->key, &a, 1) == CKR_OK) {
            *len = a.ulValueLen;
        }
    }
}

static att_err compute_id(struct att_p11 *p, const char serial[17])
{
    uint8_t id[ATTR_MAX], label[ATTR_MAX], digest[32];
    CK_ULONG id_len, label_len;
    key_attr(p, CKA_ID, id, &id_len);
    key_attr(p, CKA_LABEL, label, &label_len);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t lens[2] = {(uint8_t)id_len, (uint8_t)label_len};
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, key_id_label, sizeof(key_id_label)) == 1 &&
              EVP_DigestUpdate(ctx, serial, 16) == 1 && EVP_DigestUpdate(ctx, lens, 2) == 1 &&
              EVP_DigestUpdate(ctx, id, id_len) == 1 &&
              EVP_DigestUpdate(ctx, label, label_len) == 1 &&
              EVP_DigestFinal_ex(ctx, digest, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    ATT_ENSURE(ok, ATT_ERR_CRYPTO);
    struct att_buf hex;
    att_buf_init(&hex, 64);
    att_err rc = att_hex_encode(digest, 8, &hex);
    if (rc == ATT_OK) {
        memcpy(p->id, hex.data, 16);
        p->id[16] = 0;
    }
    att_buf_cleanup(&hex);
    return rc;
}

static void close_all(struct att_p11 *p)
{
    if (p->session_open) {
        (void)p->m->C_Logout(p->session);
        (void)p->m->C_CloseSession(p->session);
    }
    if (p->m != NULL) {
        (void)p11_kit_module_finalize(p->m);
        p11_kit_module_release(p->m);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static att_err open_steps(P11KitUri *uri, enum att_p11_mode mode, struct att_p11 *p, char *msg,
                          size_t n)
{
    bool generate = mode == ATT_P11_NEW_KEK;
    CK_SLOT_ID slot = 0;
    char serial[17];
    size_t found = 0;
    ATT_TRY(load_module(uri, p, msg, n));
    ATT_TRY(find_token(uri, p, &slot, serial, msg, n));
    CK_RV rv =
        p->m->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &p->session);
    if (rv != CKR_OK) {
        return fail(msg, n, ATT_ERR_IO, "C_OpenSession failed (0x%lx)", (unsigned long)rv);
    }
    p->session_open = true;
    ATT_TRY(login(uri, p, msg, n));
    if (mode == ATT_P11_SESSION) {
        return ATT_OK; /* a token for signing keys: no KEK to find */
    }
    ATT_TRY(find_key(uri, p, &found, msg, n));
    if (generate && found > 0) {
        return fail(msg, n, ATT_ERR_EXISTS, "the token has a key matching the URI already");
    }
    if (generate) {
        ATT_TRY(generate_key(uri, p, msg, n));
    } else if (found != 1) {
        return fail(msg, n, found == 0 ? ATT_ERR_NOT_FOUND : ATT_ERR_ARG,
                    found == 0 ? "no secret key in the token matches the URI"
                               : "more than one secret key matches the URI");
    }
    return compute_id(p, serial);
}

att_err att_p11_open(const char *uri_text, enum att_p11_mode mode, struct att_p11 **out, char *msg,
                     size_t n)
{
    ATT_ENSURE(uri_text != NULL && strlen(uri_text) <= ATT_P11_URI_MAX, ATT_ERR_ARG);
    P11KitUri *uri = p11_kit_uri_new();
    struct att_p11 *p = calloc(1, sizeof(*p));
    if (uri == NULL || p == NULL) {
        p11_kit_uri_free(uri);
        free(p);
        return ATT_ERR_NOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    atomic_init(&p->refs, 1);
    att_err rc;
    int prc = p11_kit_uri_parse(uri_text, P11_KIT_URI_FOR_ANY, uri);
    if (prc != P11_KIT_URI_OK) {
        rc =
            fail(msg, n, ATT_ERR_ARG, "not a PKCS#11 URI (RFC 7512): %s", p11_kit_uri_message(prc));
    } else {
        rc = open_steps(uri, mode, p, msg, n);
    }
    p11_kit_uri_free(uri); /* frees the PIN value with it */
    if (rc != ATT_OK) {
        close_all(p);
        return rc;
    }
    *out = p;
    return ATT_OK;
}

void att_p11_ref(struct att_p11 *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void att_p11_release(struct att_p11 *p)
{
    if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1) {
        close_all(p);
    }
}

void att_p11_key_id(const struct att_p11 *p, char id[17])
{
    memcpy(id, p->id, 17);
}

/* ---- AES-256-GCM in the token ---- */

static att_err gcm(struct att_p11 *p, bool seal, const uint8_t nonce[12], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t len, struct att_buf *out)
{
    ATT_ENSURE(seal || len >= 16, ATT_ERR_SEAL_AUTH);
    size_t want = seal ? len + 16 : len - 16;
    /* Room for the whole input plus a tag: some tokens (SoftHSM) ask for as much room when
     * decrypting as the ciphertext and tag take, before they know the tag is good. */
    size_t room = len + 16;
    ATT_TRY(att_buf_reserve(out, room));
    uint8_t iv[12];
    memcpy(iv, nonce, sizeof(iv));
    CK_GCM_PARAMS params = {
        .iv_ptr = iv,
        .iv_len = sizeof(iv),
        .iv_bits = 8 * sizeof(iv),
        .aad_ptr = (CK_BYTE_PTR)(uintptr_t)aad,
        .aad_len = (CK_ULONG)aad_len,
        .tag_bits = 128,
    };
    CK_MECHANISM mech = {CKM_AES_GCM, &params, sizeof(params)};
    CK_ULONG got = (CK_ULONG)room;
    uint8_t *dst = out->data + out->len;
    pthread_mutex_lock(&p->lock);
    CK_RV rv = seal ? p->m->C_EncryptInit(p->session, &mech, p->key)
                    : p->m->C_DecryptInit(p->session, &mech, p->key);
    bool init_ok = rv == CKR_OK;
    if (init_ok) {
        rv =
            seal
                ? p->m->C_Encrypt(p->session, (CK_BYTE_PTR)(uintptr_t)in, (CK_ULONG)len, dst, &got)
                : p->m->C_Decrypt(p->session, (CK_BYTE_PTR)(uintptr_t)in, (CK_ULONG)len, dst, &got);
    }
    pthread_mutex_unlock(&p->lock);
    if (rv != CKR_OK || got != want) {
        att_wipe(dst, room);
        /* Once the operation started, a failed decryption is a tag that does not verify. */
        if (!seal && init_ok && rv != CKR_SESSION_HANDLE_INVALID && rv != CKR_DEVICE_REMOVED &&
            rv != CKR_TOKEN_NOT_PRESENT && rv != CKR_DEVICE_ERROR) {
            return ATT_ERR_SEAL_AUTH;
        }
        att_log(ATT_LOG_ERROR, "PKCS#11 AES-GCM failed", "rv", json_integer((json_int_t)rv), NULL);
        return ATT_ERR_TOKEN_UNAVAILABLE;
    }
    out->len += want;
    out->data[out->len] = 0;
    return ATT_OK;
}

att_err att_p11_gcm_seal(struct att_p11 *p, const uint8_t nonce[12], const uint8_t *aad,
                         size_t aad_len, const uint8_t *pt, size_t len, struct att_buf *out)
{
    return gcm(p, true, nonce, aad, aad_len, pt, len, out);
}

att_err att_p11_gcm_open(struct att_p11 *p, const uint8_t nonce[12], const uint8_t *aad,
                         size_t aad_len, const uint8_t *ct_tag, size_t len, struct att_buf *out)
{
    return gcm(p, false, nonce, aad, aad_len, ct_tag, len, out);
}

/* ---- signing key pairs (pkcs11.h) ---- */

/* DER of the OID prime256v1 (1.2.840.10045.3.1.7), CKA_EC_PARAMS of a P-256 key. */
static const uint8_t p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

/* One attribute of `obj` into `out` (at most `cap` bytes); *len its length. */
static att_err object_attr(struct att_p11 *p, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                           uint8_t *out, size_t cap, size_t *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    ATT_ENSURE(p->m->C_GetAttributeValue(p->session, obj, &a, 1) == CKR_OK &&
                   a.ulValueLen != CK_UNAVAILABLE_INFORMATION && a.ulValueLen <= cap,
               ATT_ERR_CRYPTO);
    a.pValue = out;
    ATT_ENSURE(p->m->C_GetAttributeValue(p->session, obj, &a, 1) == CKR_OK, ATT_ERR_CRYPTO);
    *len = a.ulValueLen;
    return ATT_OK;
}

/* The public key of a token public-key object, as an EVP_PKEY. */
static att_err public_key(struct att_p11 *p, CK_OBJECT_HANDLE pub, bool ec, EVP_PKEY **out)
{
    uint8_t a[600], b[16];
    size_t a_len = 0, b_len = 0;
    att_err rc = ATT_ERR_CRYPTO;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *nb = NULL, *eb = NULL;
    ATT_CHECK(bld != NULL, ATT_ERR_NOMEM);
    if (ec) {
        /* CKA_EC_POINT is a DER OCTET STRING around the uncompressed point 04 | x | y. */
        ATT_GUARD(object_attr(p, pub, CKA_EC_POINT, a, sizeof(a), &a_len));
        ATT_CHECK(a_len == 67 && a[0] == 0x04 && a[1] == 65 && a[2] == 0x04, ATT_ERR_CRYPTO);
        ATT_CHECK(
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ==
                    1 &&
                OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, a + 2, 65) == 1,
            ATT_ERR_CRYPTO);
    } else {
        ATT_GUARD(object_attr(p, pub, CKA_MODULUS, a, sizeof(a), &a_len));
        ATT_GUARD(object_attr(p, pub, CKA_PUBLIC_EXPONENT, b, sizeof(b), &b_len));
        nb = BN_bin2bn(a, (int)a_len, NULL);
        eb = BN_bin2bn(b, (int)b_len, NULL);
        ATT_CHECK(nb != NULL && eb != NULL &&
                      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, nb) == 1 &&
                      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, eb) == 1,
                  ATT_ERR_CRYPTO);
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, ec ? "EC" : "RSA", NULL);
    ATT_CHECK(params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1,
              ATT_ERR_CRYPTO);
    rc = ATT_OK;
out:
    BN_free(nb);
    BN_free(eb);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

att_err att_p11_keypair_generate(struct att_p11 *p, bool ec, const uint8_t id[ATT_P11_ID_LEN],
                                 EVP_PKEY **pub_out)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = 2048;
    uint8_t e65537[] = {0x01, 0x00, 0x01};
    CK_BYTE_PTR idp = (CK_BYTE_PTR)(uintptr_t)id;
    CK_ATTRIBUTE pub_t[4] = {{CKA_TOKEN, &yes, sizeof(yes)},
                             {CKA_VERIFY, &yes, sizeof(yes)},
                             {CKA_ID, idp, ATT_P11_ID_LEN}};
    CK_ULONG n_pub = 3;
    if (ec) {
        pub_t[n_pub++] =
            (CK_ATTRIBUTE){CKA_EC_PARAMS, (CK_BYTE_PTR)(uintptr_t)p256_oid, sizeof(p256_oid)};
    } else {
        pub_t[n_pub++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
    }
    CK_ATTRIBUTE pub_rsa_e = {CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537)};
    CK_ATTRIBUTE pub_all[5];
    memcpy(pub_all, pub_t, sizeof(CK_ATTRIBUTE) * n_pub);
    if (!ec) {
        pub_all[n_pub++] = pub_rsa_e;
    }
    CK_ATTRIBUTE priv_t[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},     {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)}, {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},      {CKA_ID, idp, ATT_P11_ID_LEN},
    };
    CK_MECHANISM mech = {ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE pub = 0, priv = 0;
    pthread_mutex_lock(&p->lock);
    CK_RV rv = p->m->C_GenerateKeyPair(p->session, &mech, pub_all, n_pub, priv_t,
                                       sizeof(priv_t) / sizeof(priv_t[0]), &pub, &priv);
    att_err rc = rv == CKR_OK ? public_key(p, pub, ec, pub_out) : ATT_ERR_CRYPTO;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* The one object of class `cls` with CKA_ID `id`. */
static att_err find_by_id(struct att_p11 *p, CK_OBJECT_CLASS cls, const uint8_t *id,
                          CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_ID, (CK_BYTE_PTR)(uintptr_t)id, ATT_P11_ID_LEN}};
    CK_OBJECT_HANDLE h[2];
    CK_ULONG got = 0;
    CK_RV rv = p->m->C_FindObjectsInit(p->session, t, 2);
    if (rv == CKR_OK) {
        rv = p->m->C_FindObjects(p->session, h, 2, &got);
        (void)p->m->C_FindObjectsFinal(p->session);
    }
    ATT_ENSURE(rv == CKR_OK, ATT_ERR_IO);
    ATT_ENSURE(got == 1, ATT_ERR_NOT_FOUND);
    *out = h[0];
    return ATT_OK;
}

att_err att_p11_keypair_find(struct att_p11 *p, bool ec, const uint8_t id[ATT_P11_ID_LEN],
                             unsigned long *priv_out, EVP_PKEY **pub_out)
{
    CK_OBJECT_HANDLE pub = 0, priv = 0;
    pthread_mutex_lock(&p->lock);
    att_err rc = find_by_id(p, CKO_PRIVATE_KEY, id, &priv);
    if (rc == ATT_OK) {
        rc = find_by_id(p, CKO_PUBLIC_KEY, id, &pub);
    }
    if (rc == ATT_OK) {
        rc = public_key(p, pub, ec, pub_out);
    }
    pthread_mutex_unlock(&p->lock);
    *priv_out = priv;
    return rc;
}

att_err att_p11_keypair_destroy(struct att_p11 *p, const uint8_t id[ATT_P11_ID_LEN])
{
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
    att_err rc = ATT_OK;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < 2; i++) {
        CK_OBJECT_HANDLE h = 0;
        att_err found = find_by_id(p, classes[i], id, &h);
        if (found == ATT_OK && p->m->C_DestroyObject(p->session, h) != CKR_OK) {
            rc = ATT_ERR_IO;
        } else if (found != ATT_OK && found != ATT_ERR_NOT_FOUND) {
            rc = found;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

att_err att_p11_sign(struct att_p11 *p, unsigned long priv, bool ec, const void *msg, size_t len,
                     struct att_buf *sig)
{
    uint8_t digest[32];
    uint8_t out[512];
    CK_ULONG out_len = sizeof(out);
    /* ES256: ECDSA over our SHA-256 digest, r | s (PKCS#11 v2.40 §2.3.6), the JOSE form;
     * RS256: the token hashes and pads (CKM_SHA256_RSA_PKCS, RSASSA-PKCS1-v1_5). */
    const uint8_t *input = msg;
    size_t input_len = len;
    if (ec) {
        ATT_TRY(att_sha256(msg, len, digest));
        input = digest;
        input_len = sizeof(digest);
    }
    CK_MECHANISM mech = {ec ? CKM_ECDSA : CKM_SHA256_RSA_PKCS, NULL, 0};
    pthread_mutex_lock(&p->lock);
    CK_RV rv = p->m->C_SignInit(p->session, &mech, (CK_OBJECT_HANDLE)priv);
    if (rv == CKR_OK) {
        rv = p->m->C_Sign(p->session, (CK_BYTE_PTR)(uintptr_t)input, (CK_ULONG)input_len, out,
                          &out_len);
    }
    pthread_mutex_unlock(&p->lock);
    if (rv != CKR_OK || (ec && out_len != 64)) {
        att_log(ATT_LOG_ERROR, "PKCS#11 signature failed", "rv", json_integer((json_int_t)rv),
                NULL);
        return ATT_ERR_TOKEN_UNAVAILABLE;
    }
    return att_buf_put(sig, out, out_len);
}
