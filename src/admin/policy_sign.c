/*
 * policy_sign.c - attestctl policy sign: signed policy-management requests, bound or in MAA's
 * own form (docs/policies.md, "Bound requests"; src/policymgmt/binding.h).
 *
 * Needs no store: it runs where the signing key is. Input trust: the operator's own files.
 */
#include "admin/admin_int.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"
#include "crypto/ids.h"
#include "policy/policy.h"
#include "policymgmt/binding.h"
#include "policymgmt/envelope.h"
#include "provider/provider.h"
#include "signer/signer.h"
#include "token/jws.h"
#include "x509/chain.h"

#define INPUT_MAX ATT_POLICY_DEFAULT_MAX_TEXT

/* {"kty", "x5c": [cert]} of a signer change (docs/reference/maa-policy.md §4.4). */
static json_t *certificate_payload(const char *path, char *err, size_t n)
{
    X509 *cert = att_admin_read_cert(path, err, n);
    struct att_buf b64;
    att_buf_init(&b64, 64 * 1024);
    if (cert == NULL) {
        att_buf_cleanup(&b64);
        return NULL;
    }
    int id = EVP_PKEY_get_base_id(X509_get0_pubkey(cert));
    json_t *doc = att_cert_b64(cert, &b64) == ATT_OK
                      ? json_pack("{s:{s:s,s:[s]}}", "policyCertificate", "kty",
                                  id == EVP_PKEY_RSA ? "RSA" : "EC", "x5c", att_buf_cstr(&b64))
                      : NULL;
    if (doc == NULL) {
        att_admin_fail(err, n, "%s: cannot encode the certificate", path);
    }
    X509_free(cert);
    att_buf_cleanup(&b64);
    return doc;
}

/* The payload JSON text (NULL for a reset's empty payload) into *text. */
static int payload_of(const struct att_admin_sign_args *args, const char *type, int64_t now,
                      char **text, char *err, size_t n)
{
    json_t *doc = NULL;
    *text = NULL;
    if (strcmp(args->what, "reset") == 0) {
        return 0; /* docs/reference/maa-policy.md §4.3: empty */
    }
    if (strcmp(args->what, "set") == 0) {
        struct att_buf policy;
        struct att_buf b64;
        att_buf_init(&policy, INPUT_MAX);
        att_buf_init(&b64, 2 * INPUT_MAX);
        int rc = att_admin_read_file(args->input_path, &policy, INPUT_MAX, false, err, n);
        if (rc == 0 && att_b64url_encode(policy.data, policy.len, &b64) == ATT_OK) {
            doc = json_pack("{s:s}", "AttestationPolicy", att_buf_cstr(&b64));
        }
        att_buf_cleanup(&policy);
        att_buf_cleanup(&b64);
        if (rc != 0) {
            return rc;
        }
    } else if (strcmp(args->what, "rollback") == 0) {
        doc = json_pack("{s:{s:s,s:s,s:I},s:I}", "policyRollback", "provider",
                        args->provider != NULL ? args->provider : ATT_DEFAULT_PROVIDER,
                        "attestationType", type, "version", (json_int_t)args->version, "iat",
                        (json_int_t)now);
    } else {
        doc = certificate_payload(args->input_path, err, n);
        if (doc == NULL) {
            return 1;
        }
    }
    *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return *text == NULL ? att_admin_fail(err, n, "out of memory") : 0;
}

/* The protected header: alg, x5c and, when `bind`, iat, aud and attestationType (for `type`). */
static json_t *header_of(const struct att_admin_sign_args *args, bool bind, const char *type,
                         enum att_jws_alg alg, X509 *cert, int64_t now)
{
    struct att_buf b64;
    att_buf_init(&b64, 64 * 1024);
    json_t *h =
        att_cert_b64(cert, &b64) == ATT_OK
            ? json_pack("{s:s,s:[s]}", "alg", att_jws_alg_name(alg), "x5c", att_buf_cstr(&b64))
            : NULL;
    att_buf_cleanup(&b64);
    if (h != NULL && bind) {
        /* RFC 7519 §4.1.7: a random "jti" keeps two requests signed in one second apart. */
        char jti[33];
        if (att_id_hex(16, jti, sizeof(jti)) != ATT_OK) {
            json_decref(h);
            return NULL;
        }
        json_object_set_new(h, "jti", json_string(jti));
        json_object_set_new(h, "iat", json_integer(now));
        json_object_set_new(h, "aud", json_string(args->audience));
        if (type != NULL) {
            json_object_set_new(h, ATT_BINDING_TYPE_CLAIM, json_string(type));
        }
    }
    return h;
}

/* header.payload, signed with `key` (RFC 7515 §7.1): appended to `out`. */
static att_err sign_compact(EVP_PKEY *key, enum att_jws_alg alg, const json_t *header,
                            const char *payload, struct att_buf *out)
{
    struct att_signer *signer = NULL;
    struct att_buf sig;
    char *htext = json_dumps(header, JSON_COMPACT);
    att_buf_init(&sig, 1024);
    att_err rc = htext != NULL ? att_signer_new(&signer) : ATT_ERR_NOMEM;
    if (rc == ATT_OK) {
        EVP_PKEY_up_ref(key);
        rc = att_signer_add(signer, "request", alg, key);
    }
    if (rc == ATT_OK) {
        rc = att_b64url_encode(htext, strlen(htext), out);
    }
    if (rc == ATT_OK) {
        rc = att_buf_puts(out, ".");
    }
    if (rc == ATT_OK && payload != NULL) {
        rc = att_b64url_encode(payload, strlen(payload), out);
    }
    if (rc == ATT_OK) {
        rc = att_signer_sign(signer, "request", out->data, out->len, &sig);
    }
    if (rc == ATT_OK) {
        rc = att_buf_puts(out, ".");
    }
    if (rc == ATT_OK) {
        rc = att_b64url_encode(sig.data, sig.len, out);
    }
    att_signer_free(signer);
    att_buf_cleanup(&sig);
    free(htext);
    return rc;
}

/* The canonical type name when the request needs one; NULL for signer changes. */
static int type_of(const struct att_admin_sign_args *args, const char **type, char *err, size_t n)
{
    enum att_policy_type t;
    *type = NULL;
    if (strcmp(args->what, "add-signer") == 0 || strcmp(args->what, "remove-signer") == 0) {
        return 0;
    }
    if (strcmp(args->what, "set") != 0 && strcmp(args->what, "reset") != 0 &&
        strcmp(args->what, "rollback") != 0) {
        return att_admin_fail(err, n,
                              "'%s': sign one of set, reset, rollback, add-signer, remove-signer",
                              args->what);
    }
    if (args->type == NULL || att_policy_type_parse(args->type, strlen(args->type), &t) != ATT_OK) {
        return att_admin_fail(err, n,
                              "unknown attestation type '%s' (SgxEnclave, OpenEnclave, SevSnpVm, "
                              "TdxVm, Tpm, AzureGuest)",
                              args->type != NULL ? args->type : "");
    }
    *type = att_policy_type_name(t);
    return 0;
}

int att_admin_policy_sign(const struct att_admin_sign_args *args, int64_t now, char **jws_out,
                          char *err, size_t err_len)
{
    const char *type = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    char *payload = NULL;
    json_t *header = NULL;
    struct att_buf jws;
    int rc = type_of(args, &type, err, err_len);
    if (rc != 0) {
        return rc;
    }
    if (!args->unbound && strcmp(args->what, "rollback") != 0 &&
        (args->audience == NULL || att_provider_issuer_check(args->audience) != ATT_OK)) {
        return att_admin_fail(err, err_len,
                              "--audience must be the provider's issuer URL (https://..., as its "
                              "/.well-known/openid-configuration shows), or give --unbound");
    }
    char why[512] = "";
    EVP_PKEY *key = att_admin_read_key(args->key_path, why, sizeof(why));
    X509 *cert = key != NULL ? att_admin_read_cert(args->cert_path, why, sizeof(why)) : NULL;
    att_buf_init(&jws, ATT_ENVELOPE_MAX);
    if (key == NULL || cert == NULL) {
        rc = att_admin_fail(err, err_len, "%s: %s", key == NULL ? "--key" : "--cert", why);
    } else if (X509_check_private_key(cert, key) != 1) {
        rc = att_admin_fail(err, err_len, "%s", "--cert does not certify the --key key");
    } else if (att_jws_alg_for_key(key, &alg) != ATT_OK || !att_jws_alg_can_sign(alg)) {
        rc = att_admin_fail(err, err_len, "%s", "--key must be RSA (2048 bits or more) or P-256");
    }
    if (rc == 0) {
        rc = payload_of(args, type, now, &payload, err, err_len);
    }
    if (rc == 0) {
        /* A rollback is bound by its payload already (provider, type, version, iat). */
        bool rollback = strcmp(args->what, "rollback") == 0;
        header = header_of(args, !args->unbound && !rollback, type, alg, cert, now);
        att_err e = header != NULL ? sign_compact(key, alg, header, payload, &jws) : ATT_ERR_NOMEM;
        if (e != ATT_OK) {
            rc = att_admin_fail(err, err_len, "cannot sign: %s", att_err_str(e));
        }
    }
    if (rc == 0) {
        *jws_out = strdup(att_buf_cstr(&jws));
        rc = *jws_out == NULL ? att_admin_fail(err, err_len, "out of memory") : 0;
    }
    json_decref(header);
    free(payload);
    att_buf_cleanup(&jws);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}
