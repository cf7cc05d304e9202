/*
 * attestctl - administration tool for attestd, built only on include/att/.
 *
 *   attestctl [--config FILE] [--data-dir DIR] COMMAND ...
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "att/admin.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: attestctl [--config FILE] [--data-dir DIR] COMMAND\n"
        "\n"
        "commands:\n"
        "  provider create NAME [--issuer URL] [--alg RS256|ES256]\n"
        "                  [--isolated --signer CERT.pem [--signer CERT.pem ...]]\n"
        "                                    Isolated: policy changes must be signed\n"
        "  provider list\n"
        "  provider show NAME\n"
        "  provider set NAME --attest-requires-auth on|off\n"
        "                                    /attest routes need authentication (SIGHUP)\n"
        "  provider set NAME --collateral-grace SECONDS\n"
        "                                    use collateral up to SECONDS past its nextUpdate\n"
        "                                    when no newer copy can be had (SIGHUP)\n"
        "  provider set NAME --require-bound-requests on|off\n"
        "                                    signed policy changes must carry iat, aud and\n"
        "                                    attestationType (at once, no SIGHUP)\n"
        "  provider set NAME --audit-fail-open on|off\n"
        "                                    answer tokens even when their audit record cannot\n"
        "                                    be written (default off: 503) (SIGHUP)\n"
        "  provider set NAME --policy-history-keep N\n"
        "                                    keep the newest N policy versions per type\n"
        "                                    (0 = all; at once, no SIGHUP)\n"
        "  provider rotate-key NAME [--lead SECONDS]\n"
        "                                    a new token signing key: in /certs at once, signing\n"
        "                                    after SECONDS (default: signing_key_lead_time); the\n"
        "                                    old key stays in /certs until its tokens expire\n"
        "                                    (attestd sees the new key within 10 s, no SIGHUP)\n"
        "  provider delete NAME\n"
        "  demo DIR [--name NAME] [--runtime-data FILE] [--alg RS256|ES256] [--fmspc HEX]\n"
        "                                    a DEMO provider trusting a root made here, and an\n"
        "                                    SGX quote and collateral for it in DIR (refused\n"
        "                                    with public network access; tokens are marked)\n"
        "  kek generate FILE                 write a new key-encryption key (mode 0600)\n"
        "  kek generate --pkcs11 URI         make it in a PKCS#11 token instead (RFC 7512 URI\n"
        "                                    with object=LABEL, module-path, pin-source)\n"
        "  kek rotate (--new-kek-file FILE | --new-kek-pkcs11 URI)\n"
        "                                    rewrap every data key under the new key\n"
        "  principal create NAME [--secret-days N]   prints client_id and client_secret once\n"
        "  principal list | show NAME | disable NAME | enable NAME | delete NAME\n"
        "  principal secret add NAME [--secret-days N]\n"
        "  principal secret revoke NAME SECRET_ID\n"
        "  principal cert NAME (CERT.pem | --clear)   client certificate for mutual TLS\n"
        "                                    and private_key_jwt\n"
        "  role assign --role ROLE (--principal NAME | --subject SUB --issuer URL |\n"
        "              --group GROUP --issuer URL) [--provider NAME|*]\n"
        "  role list\n"
        "  role revoke ID\n"
        "  policy history TYPE [--provider NAME]       every version of TYPE's policy\n"
        "  policy show TYPE [VERSION] [--provider NAME] a version's text (default: in force)\n"
        "  policy diff TYPE FROM TO [--provider NAME]   line diff of two versions (0 = in force)\n"
        "  policy rollback TYPE VERSION [--provider NAME] [--signed JWS-FILE]\n"
        "                                    bring a version back (Isolated: --signed)\n"
        "  policy sign set TYPE POLICY-FILE | reset TYPE | add-signer CERT.pem |\n"
        "              remove-signer CERT.pem  --key KEY.pem --cert CERT.pem\n"
        "              (--audience ISSUER-URL | --unbound)\n"
        "  policy sign rollback TYPE VERSION [--provider NAME] --key KEY.pem --cert CERT.pem\n"
        "                                    print a signed request (JWS) for PUT /policies,\n"
        "                                    :reset, /certificates:add|remove or a rollback;\n"
        "                                    bound to the provider, type and time unless\n"
        "                                    --unbound (needs no store)\n");
    /* (two strings: C99 promises string literals of 4095 characters) */
    fputs(
        "  verify sgx|oe|snp|tdx|tpm --quote FILE [--runtime-data FILE [--runtime-json]]\n"
        "         [--collateral BUNDLE] [--at TIME] [--policy FILE] [--trust ROOTS.pem]\n"
        "         [--no-crl]\n"
        "                                    verify evidence offline with the server's code and\n"
        "                                    print its token claims (TIME: RFC 3339 or epoch;\n"
        "                                    without --collateral: the store's collateral; snp:\n"
        "                                    --report FILE, MAA's JSON document or a raw report;\n"
        "                                    --trust: AMD ARKs; --no-crl: skip revocation;\n"
        "                                    tpm: FILE is a TpmQuote body with its nonce,\n"
        "                                    --trust: AK certificate CAs)\n"
        "  inspect sgx|oe|snp|tdx|tpm|azure FILE\n"
        "                                    print evidence's fields and claims, UNVERIFIED\n"
        "                                    (tpm: a TPMS_ATTEST; azure: an HCL report)\n"
        "  eventlog show FILE [--ccel]       a TCG event log's events, digests, decoded data and\n"
        "                                    replayed values, UNVERIFIED (--ccel: a TDX CCEL log)\n"
        "  collateral import BUNDLE          store an offline Intel or AMD collateral bundle\n"
        "  collateral list                   stored collateral, issue dates and ages\n"
        "  routes                            every route and the permission it needs\n"
        "  audit verify                      check the audit trail's chain and checkpoints\n"
        "                                    (exit 3 and the first bad record when broken)\n"
        "  audit acknowledge-loss            after records were removed (attestd refuses to\n"
        "                                    start), record the loss and start afresh\n"
        "  audit show [FILTERS]              audit records, one readable line each\n"
        "  audit export [FILTERS]            audit records as JSON lines (for a SIEM)\n"
        "         FILTERS: --since TIME --until TIME --principal ID|NAME --provider NAME\n"
        "                  --action ACTION --category CATEGORY --after SEQ --limit N\n"
        "  token issue --provider NAME [--claims JSON] [--lifetime SECONDS]\n"
        "  backup create FILE (--passphrase-file F | --key-file F)\n"
        "                                    an encrypted, signed snapshot of the state, taken\n"
        "                                    while attestd runs (keys stay sealed by the KEK)\n"
        "  backup verify FILE [--passphrase-file F | --key-file F]\n"
        "                                    check the signature, and with the secret the\n"
        "                                    contents, without restoring\n"
        "  restore FILE --data-dir DIR (--kek-file KEK | --kek-pkcs11 URI)\n"
        "          (--passphrase-file F | --key-file F) [--signing-keys-pkcs11 URI]\n"
        "                                    into a new or empty DIR, only when every check\n"
        "                                    passes (the KEK must open every key)\n"
        "                                    sign a test token (marked x-attestd-test-token)\n"
        "  version                           (also --version)\n"
        "\n"
        "The store, keys and defaults are those of attestd with the same --config and\n"
        "--data-dir. A running attestd picks up provider changes on SIGHUP.\n",
        f);
}

/* Find "--name VALUE" among args; NULL when absent. Returns -1 through *bad on a dangling flag. */
static const char *flag(int argc, char **argv, const char *name, int *bad)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            if (i + 1 >= argc) {
                *bad = 1;
                return NULL;
            }
            return argv[i + 1];
        }
    }
    return NULL;
}

static int print_and_free(char *json)
{
    printf("%s\n", json);
    att_admin_free_string(json);
    return 0;
}

static int open_admin(const char *config, const char *data_dir, struct att_admin **a)
{
    char err[1024];
    if (att_admin_open(config, data_dir, a, err, sizeof(err)) != 0) {
        fprintf(stderr, "attestctl: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_provider(struct att_admin *a, int argc, char **argv)
{
    char err[1024];
    char *json = NULL;
    if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc == 1) {
        if (att_admin_provider_list(a, &json, err, sizeof(err)) == 0) {
            return print_and_free(json);
        }
    } else if (argc >= 2 && strcmp(argv[0], "create") == 0) {
        const char *issuer = NULL;
        const char *alg = NULL;
        const char *signers[64];
        size_t n_signers = 0;
        bool isolated = false;
        for (int i = 2; i < argc; i++) {
            bool has_value = i + 1 < argc;
            if (strcmp(argv[i], "--isolated") == 0) {
                isolated = true;
            } else if (strcmp(argv[i], "--issuer") == 0 && has_value) {
                issuer = argv[++i];
            } else if (strcmp(argv[i], "--alg") == 0 && has_value) {
                alg = argv[++i];
            } else if (strcmp(argv[i], "--signer") == 0 && has_value && n_signers < 64) {
                signers[n_signers++] = argv[++i];
            } else {
                usage(stderr);
                return 2;
            }
        }
        if (isolated != (n_signers > 0)) {
            fprintf(stderr, "attestctl: --isolated needs at least one --signer CERT.pem, and "
                            "--signer needs --isolated\n");
            return 2;
        }
        if (att_admin_provider_create(a, argv[1], issuer, alg, signers, n_signers, &json, err,
                                      sizeof(err)) == 0) {
            return print_and_free(json);
        }
    } else if (argc == 2 && strcmp(argv[0], "show") == 0) {
        if (att_admin_provider_show(a, argv[1], &json, err, sizeof(err)) == 0) {
            return print_and_free(json);
        }
    } else if ((argc == 2 || (argc == 4 && strcmp(argv[2], "--lead") == 0)) &&
               strcmp(argv[0], "rotate-key") == 0) {
        if (att_admin_provider_rotate_key(a, argv[1], argc == 4 ? argv[3] : NULL, &json, err,
                                          sizeof(err)) == 0) {
            return print_and_free(json);
        }
    } else if (argc == 2 && strcmp(argv[0], "delete") == 0) {
        if (att_admin_provider_delete(a, argv[1], err, sizeof(err)) == 0) {
            printf("deleted provider %s\n", argv[1]);
            return 0;
        }
    } else if (argc == 4 && strcmp(argv[0], "set") == 0 &&
               strcmp(argv[2], "--attest-requires-auth") == 0) {
        bool on = strcmp(argv[3], "on") == 0;
        if (!on && strcmp(argv[3], "off") != 0) {
            fprintf(stderr, "attestctl: --attest-requires-auth must be on or off\n");
            return 2;
        }
        if (att_admin_provider_set_attest_requires_auth(a, argv[1], on, &json, err, sizeof(err)) ==
            0) {
            return print_and_free(json);
        }
    } else if (argc == 4 && strcmp(argv[0], "set") == 0 &&
               strcmp(argv[2], "--require-bound-requests") == 0) {
        bool on = strcmp(argv[3], "on") == 0;
        if (!on && strcmp(argv[3], "off") != 0) {
            fprintf(stderr, "attestctl: --require-bound-requests must be on or off\n");
            return 2;
        }
        if (att_admin_provider_set_require_bound_requests(a, argv[1], on, &json, err,
                                                          sizeof(err)) == 0) {
            return print_and_free(json);
        }
    } else if (argc == 4 && strcmp(argv[0], "set") == 0 &&
               strcmp(argv[2], "--audit-fail-open") == 0) {
        bool on = strcmp(argv[3], "on") == 0;
        if (!on && strcmp(argv[3], "off") != 0) {
            fprintf(stderr, "attestctl: --audit-fail-open must be on or off\n");
            return 2;
        }
        if (att_admin_provider_set_audit_fail_open(a, argv[1], on, &json, err, sizeof(err)) == 0) {
            return print_and_free(json);
        }
    } else if (argc == 4 && strcmp(argv[0], "set") == 0 &&
               strcmp(argv[2], "--policy-history-keep") == 0) {
        if (att_admin_provider_set_policy_history_keep(a, argv[1], argv[3], &json, err,
                                                       sizeof(err)) == 0) {
            return print_and_free(json);
        }
    } else if (argc == 4 && strcmp(argv[0], "set") == 0 &&
               strcmp(argv[2], "--collateral-grace") == 0) {
        if (att_admin_provider_set_collateral_grace(a, argv[1], argv[3], &json, err, sizeof(err)) ==
            0) {
            return print_and_free(json);
        }
    } else {
        usage(stderr);
        return 2;
    }
    fprintf(stderr, "attestctl: %s\n", err);
    return 1;
}

/* demo DIR [--name NAME] [--runtime-data FILE] [--alg ALG] [--fmspc HEX] (src/admin/demo.c) */
static int cmd_demo(struct att_admin *a, int argc, char **argv)
{
    struct att_admin_demo_args args = {NULL, NULL, NULL, NULL, NULL};
    char err[1024];
    char *text = NULL;
    for (int i = 0; i < argc; i++) {
        const char **dst = strcmp(argv[i], "--name") == 0           ? &args.name
                           : strcmp(argv[i], "--runtime-data") == 0 ? &args.runtime_path
                           : strcmp(argv[i], "--alg") == 0          ? &args.alg
                           : strcmp(argv[i], "--fmspc") == 0        ? &args.fmspc
                                                                    : NULL;
        if (dst != NULL && i + 1 < argc) {
            *dst = argv[++i];
        } else if (dst == NULL && argv[i][0] != '-' && args.out_dir == NULL) {
            args.out_dir = argv[i];
        } else {
            fprintf(stderr, "attestctl: demo DIR [--name NAME] [--runtime-data FILE] "
                            "[--alg RS256|ES256] [--fmspc HEX]\n");
            return 2;
        }
    }
    if (args.out_dir == NULL) {
        fprintf(stderr, "attestctl: demo needs DIR, where the evidence goes\n");
        return 2;
    }
    if (att_admin_demo(a, &args, &text, err, sizeof(err)) != 0) {
        fprintf(stderr, "attestctl: %s\n", err);
        return 1;
    }
    fputs(text, stdout);
    att_admin_free_string(text);
    return 0;
}

/* Print the JSON answer (or "ok"), or the error; the command's exit code. */
static int finish(int rc, char *json, const char *err)
{
    if (rc != 0) {
        fprintf(stderr, "attestctl: %s\n", err);
        return 1;
    }
    if (json != NULL) {
        return print_and_free(json);
    }
    printf("ok\n");
    return 0;
}

static int secret_days(int argc, char **argv, int *out)
{
    int bad = 0;
    const char *text = flag(argc, argv, "--secret-days", &bad);
    *out = 180;
    if (bad) {
        return -1;
    }
    if (text != NULL) {
        char *end = NULL;
        long v = strtol(text, &end, 10);
        if (end == text || *end != 0 || v < 0 || v > 3650) {
            return -1;
        }
        *out = (int)v;
    }
    return 0;
}

static int cmd_principal(struct att_admin *a, int argc, char **argv)
{
    char err[1024];
    char *json = NULL;
    int days = 0;
    int rc = -1;
    if (argc >= 2 && strcmp(argv[0], "create") == 0) {
        if (secret_days(argc - 2, argv + 2, &days) != 0) {
            fprintf(stderr, "attestctl: --secret-days must be 0 (no expiry) to 3650\n");
            return 2;
        }
        rc = att_admin_principal_create(a, argv[1], days, &json, err, sizeof(err));
    } else if (argc == 1 && strcmp(argv[0], "list") == 0) {
        rc = att_admin_principal_list(a, &json, err, sizeof(err));
    } else if (argc == 2 && strcmp(argv[0], "show") == 0) {
        rc = att_admin_principal_show(a, argv[1], &json, err, sizeof(err));
    } else if (argc == 2 && (strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0)) {
        rc = att_admin_principal_set_disabled(a, argv[1], strcmp(argv[0], "disable") == 0, err,
                                              sizeof(err));
    } else if ((argc == 2 || (argc == 4 && strcmp(argv[2], "--lead") == 0)) &&
               strcmp(argv[0], "rotate-key") == 0) {
        if (att_admin_provider_rotate_key(a, argv[1], argc == 4 ? argv[3] : NULL, &json, err,
                                          sizeof(err)) == 0) {
            return print_and_free(json);
        }
    } else if (argc == 2 && strcmp(argv[0], "delete") == 0) {
        rc = att_admin_principal_delete(a, argv[1], err, sizeof(err));
    } else if (argc == 3 && strcmp(argv[0], "cert") == 0) {
        const char *pem = strcmp(argv[2], "--clear") == 0 ? NULL : argv[2];
        rc = att_admin_principal_set_cert(a, argv[1], pem, err, sizeof(err));
    } else if (argc >= 3 && strcmp(argv[0], "secret") == 0 && strcmp(argv[1], "add") == 0) {
        if (secret_days(argc - 3, argv + 3, &days) != 0) {
            fprintf(stderr, "attestctl: --secret-days must be 0 (no expiry) to 3650\n");
            return 2;
        }
        rc = att_admin_secret_add(a, argv[2], days, &json, err, sizeof(err));
    } else if (argc == 4 && strcmp(argv[0], "secret") == 0 && strcmp(argv[1], "revoke") == 0) {
        rc = att_admin_secret_revoke(a, argv[2], argv[3], err, sizeof(err));
    } else {
        usage(stderr);
        return 2;
    }
    return finish(rc, json, err);
}

static int cmd_role(struct att_admin *a, int argc, char **argv)
{
    char err[1024];
    char *json = NULL;
    int bad = 0;
    int rc = -1;
    if (argc >= 1 && strcmp(argv[0], "assign") == 0) {
        int n = argc - 1;
        char **v = argv + 1;
        const char *role = flag(n, v, "--role", &bad);
        const char *principal = flag(n, v, "--principal", &bad);
        const char *subject = flag(n, v, "--subject", &bad);
        const char *group = flag(n, v, "--group", &bad);
        const char *issuer = flag(n, v, "--issuer", &bad);
        const char *provider = flag(n, v, "--provider", &bad);
        if (bad) {
            fprintf(stderr, "attestctl: a flag is missing its value\n");
            return 2;
        }
        rc = att_admin_role_assign(a, principal, subject, group, issuer, role, provider, &json, err,
                                   sizeof(err));
    } else if (argc == 1 && strcmp(argv[0], "list") == 0) {
        rc = att_admin_role_list(a, &json, err, sizeof(err));
    } else if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
        rc = att_admin_role_revoke(a, argv[1], err, sizeof(err));
    } else {
        usage(stderr);
        return 2;
    }
    return finish(rc, json, err);
}

static int cmd_kek_rotate(struct att_admin *a, int argc, char **argv)
{
    char err[1024];
    int bad = 0;
    size_t count = 0;
    const char *file = flag(argc, argv, "--new-kek-file", &bad);
    const char *uri = flag(argc, argv, "--new-kek-pkcs11", &bad);
    if (bad || (file == NULL) == (uri == NULL)) {
        fprintf(stderr,
                "attestctl: kek rotate needs --new-kek-file FILE or --new-kek-pkcs11 URI\n");
        return 2;
    }
    if (att_admin_kek_rotate(a, file, uri, &count, err, sizeof(err)) != 0) {
        fprintf(stderr, "attestctl: %s\n", err);
        return 1;
    }
    printf("rewrapped %zu data key(s) under %s\n"
           "now point %s at it and restart attestd\n",
           count, file != NULL ? file : "the key in the PKCS#11 token",
           file != NULL ? "kek_file" : "kek_pkcs11");
    return 0;
}

static int cmd_token(struct att_admin *a, int argc, char **argv)
{
    char err[1024];
    char *token = NULL;
    int bad = 0;
    if (argc < 1 || strcmp(argv[0], "issue") != 0) {
        usage(stderr);
        return 2;
    }
    const char *provider = flag(argc - 1, argv + 1, "--provider", &bad);
    const char *claims = flag(argc - 1, argv + 1, "--claims", &bad);
    const char *lifetime_text = flag(argc - 1, argv + 1, "--lifetime", &bad);
    long long lifetime = 3600;
    if (lifetime_text != NULL) {
        char *end = NULL;
        lifetime = strtoll(lifetime_text, &end, 10);
        if (end == lifetime_text || *end != 0 || lifetime < 1 || lifetime > 31536000) {
            fprintf(stderr, "attestctl: --lifetime must be 1 to 31536000 seconds\n");
            return 2;
        }
    }
    if (bad || provider == NULL) {
        fprintf(stderr, "attestctl: token issue needs --provider NAME\n");
        return 2;
    }
    if (att_admin_token_issue(a, provider, claims, lifetime, &token, err, sizeof(err)) != 0) {
        fprintf(stderr, "attestctl: %s\n", err);
        return 1;
    }
    printf("%s\n", token);
    att_admin_free_string(token);
    return 0;
}

/* A version number: a positive integer (0 where `zero_ok`, meaning the one in force). */
static bool parse_version(const char *text, bool zero_ok, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != 0 || v < (zero_ok ? 0 : 1)) {
        fprintf(stderr, "attestctl: '%s' is not a policy version\n", text);
        return false;
    }
    *out = v;
    return true;
}

/* policy sign WHAT ARGS... --key K --cert C (--audience URL | --unbound) [--provider NAME] */
static int cmd_policy_sign(int argc, char **argv)
{
    struct att_admin_sign_args args = {0};
    const char *pos[3];
    size_t n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char **dst = NULL;
        if (strcmp(argv[i], "--key") == 0) {
            dst = &args.key_path;
        } else if (strcmp(argv[i], "--cert") == 0) {
            dst = &args.cert_path;
        } else if (strcmp(argv[i], "--audience") == 0) {
            dst = &args.audience;
        } else if (strcmp(argv[i], "--provider") == 0) {
            dst = &args.provider;
        }
        if (dst != NULL && i + 1 < argc) {
            *dst = argv[++i];
        } else if (strcmp(argv[i], "--unbound") == 0) {
            args.unbound = true;
        } else if (argv[i][0] != '-' && n_pos < 3) {
            pos[n_pos++] = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (n_pos < 1 || args.key_path == NULL || args.cert_path == NULL) {
        usage(stderr);
        return 2;
    }
    args.what = pos[0];
    bool set = strcmp(pos[0], "set") == 0;
    bool rollback = strcmp(pos[0], "rollback") == 0;
    bool signer = strcmp(pos[0], "add-signer") == 0 || strcmp(pos[0], "remove-signer") == 0;
    if (n_pos != ((set || rollback) ? 3 : 2)) {
        usage(stderr);
        return 2;
    }
    args.type = signer ? NULL : pos[1];
    args.input_path = set ? pos[2] : signer ? pos[1] : NULL;
    if (rollback && !parse_version(pos[2], false, &args.version)) {
        return 2;
    }
    char err[1024];
    char *jws = NULL;
    if (att_admin_policy_sign(&args, (int64_t)time(NULL), &jws, err, sizeof(err)) != 0) {
        fprintf(stderr, "attestctl: %s\n", err);
        return 1;
    }
    printf("%s\n", jws);
    att_admin_free_string(jws);
    return 0;
}

static int cmd_policy(struct att_admin *a, int argc, char **argv)
{
    char err[1024];
    char *out = NULL;
    const char *provider = NULL;
    const char *signed_path = NULL;
    const char *pos[4];
    size_t n_pos = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc) {
            provider = argv[++i];
        } else if (strcmp(argv[i], "--signed") == 0 && i + 1 < argc) {
            signed_path = argv[++i];
        } else if (argv[i][0] != '-' && n_pos < 4) {
            pos[n_pos++] = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    int64_t v1 = 0;
    int64_t v2 = 0;
    int rc = -1;
    if (n_pos == 2 && strcmp(pos[0], "history") == 0) {
        rc = att_admin_policy_history(a, provider, pos[1], &out, err, sizeof(err));
    } else if ((n_pos == 2 || n_pos == 3) && strcmp(pos[0], "show") == 0) {
        if (n_pos == 3 && !parse_version(pos[2], true, &v1)) {
            return 2;
        }
        rc = att_admin_policy_show(a, provider, pos[1], v1, &out, err, sizeof(err));
    } else if (n_pos == 4 && strcmp(pos[0], "diff") == 0) {
        if (!parse_version(pos[2], true, &v1) || !parse_version(pos[3], true, &v2)) {
            return 2;
        }
        rc = att_admin_policy_diff(a, provider, pos[1], v1, v2, &out, err, sizeof(err));
        if (rc == 0) {
            fputs(out, stdout);
            att_admin_free_string(out);
            return 0;
        }
    } else if (n_pos == 3 && strcmp(pos[0], "rollback") == 0) {
        if (!parse_version(pos[2], false, &v1)) {
            return 2;
        }
        rc =
            att_admin_policy_rollback(a, provider, pos[1], v1, signed_path, &out, err, sizeof(err));
    }
    if (rc < 0) {
        usage(stderr);
        return 2;
    }
    if (rc == 0) {
        return print_and_free(out);
    }
    fprintf(stderr, "attestctl: %s\n", err);
    return 1;
}

/* Print a command's JSON answer, or its error ("error: ATT_ERR_...: ..." for evidence). */
static int answer(int rc, char **json, const char *err)
{
    if (rc == 0) {
        return print_and_free(*json);
    }
    fprintf(stderr, "error: %s\n", err);
    return 1;
}

static int cmd_verify(const char *config, const char *data_dir, int argc, char **argv)
{
    struct att_admin_verify_args v;
    struct att_admin *a = NULL;
    char err[1024];
    char *json = NULL;
    memset(&v, 0, sizeof(v));
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    v.type = argv[0];
    for (int i = 1; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--quote") == 0 || strcmp(argv[i], "--report") == 0
                                ? &v.evidence_path
                            : strcmp(argv[i], "--runtime-data") == 0 ? &v.runtime_path
                            : strcmp(argv[i], "--collateral") == 0   ? &v.bundle_path
                            : strcmp(argv[i], "--at") == 0           ? &v.at
                            : strcmp(argv[i], "--policy") == 0       ? &v.policy_path
                            : strcmp(argv[i], "--trust") == 0        ? &v.trust_path
                                                                     : NULL;
        if (strcmp(argv[i], "--runtime-json") == 0) {
            v.runtime_json = true;
        } else if (strcmp(argv[i], "--no-crl") == 0) {
            v.no_crl = true;
        } else if (slot != NULL && i + 1 < argc) {
            *slot = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (v.evidence_path == NULL) {
        fprintf(stderr, "attestctl: verify needs --quote FILE (or --report FILE)\n");
        return 2;
    }
    /* The store is needed only for its collateral (SEV-SNP evidence may carry its own). */
    if (v.bundle_path == NULL && strcmp(v.type, "snp") != 0 && strcmp(v.type, "SevSnpVm") != 0 &&
        strcmp(v.type, "tpm") != 0 && strcmp(v.type, "TpmQuote") != 0 &&
        open_admin(config, data_dir, &a) != 0) {
        return 1;
    }
    int rc = answer(att_admin_verify(a, &v, &json, err, sizeof(err)), &json, err);
    att_admin_close(a);
    return rc;
}

static int cmd_collateral(struct att_admin *a, int argc, char **argv)
{
    char err[1024];
    char *json = NULL;
    if (argc == 2 && strcmp(argv[0], "import") == 0) {
        return answer(att_admin_collateral_import(a, argv[1], &json, err, sizeof(err)), &json, err);
    }
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        return answer(att_admin_collateral_list(a, &json, err, sizeof(err)), &json, err);
    }
    usage(stderr);
    return 2;
}

static int print_line(const char *line, void *arg)
{
    (void)arg;
    return puts(line) < 0 ? 1 : 0;
}

/* The filters of `audit show|export`: "--name value" pairs. 0, or 2 with the error printed. */
static int audit_query(int argc, char **argv, struct att_admin_audit_query *q)
{
    for (int i = 1; i < argc; i += 2) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fprintf(stderr, "error: %s needs a value\n", f);
            return 2;
        }
        if (strcmp(f, "--since") == 0) {
            q->since = v;
        } else if (strcmp(f, "--until") == 0) {
            q->until = v;
        } else if (strcmp(f, "--principal") == 0) {
            q->principal = v;
        } else if (strcmp(f, "--provider") == 0) {
            q->provider = v;
        } else if (strcmp(f, "--action") == 0) {
            q->action = v;
        } else if (strcmp(f, "--category") == 0) {
            q->category = v;
        } else if (strcmp(f, "--after") == 0 || strcmp(f, "--limit") == 0) {
            char *end = NULL;
            long long num = strtoll(v, &end, 10);
            if (end == v || *end != 0 || num < 0) {
                fprintf(stderr, "error: %s: expected a whole number\n", f);
                return 2;
            }
            if (strcmp(f, "--after") == 0) {
                q->after = (int64_t)num;
            } else {
                q->limit = (int64_t)num;
            }
        } else {
            fprintf(stderr, "error: audit %s: unknown filter '%s'\n", argv[0], f);
            return 2;
        }
    }
    return 0;
}

static int cmd_audit(struct att_admin *a, int argc, char **argv)
{
    char err[1024];
    char *json = NULL;
    if (argc == 1 && strcmp(argv[0], "acknowledge-loss") == 0) {
        return answer(att_admin_audit_acknowledge_loss(a, &json, err, sizeof(err)), &json, err);
    }
    if (argc == 1 && strcmp(argv[0], "verify") == 0) {
        int rc = att_admin_audit_verify(a, &json, err, sizeof(err));
        if (rc == 1) {
            fprintf(stderr, "error: %s\n", err);
            return 1;
        }
        print_and_free(json);
        return rc;
    }
    if (argc < 1 || (strcmp(argv[0], "show") != 0 && strcmp(argv[0], "export") != 0)) {
        usage(stderr);
        return 2;
    }
    struct att_admin_audit_query q;
    memset(&q, 0, sizeof(q));
    q.text = strcmp(argv[0], "show") == 0;
    if (audit_query(argc, argv, &q) != 0) {
        return 2;
    }
    if (att_admin_audit_scan(a, &q, print_line, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    return 0;
}

/* The flags of backup and restore, from argv[0..argc): 0, or 2 after a usage message. */
struct backup_args {
    struct att_admin_backup_secret sec;
    const char *data_dir;
    const char *kek_file;
    const char *kek_uri;
    const char *signing_uri;
};

static int backup_flags(int argc, char **argv, bool restore, struct backup_args *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < argc; i++) {
        const char **dst = NULL;
        if (strcmp(argv[i], "--passphrase-file") == 0) {
            dst = &out->sec.passphrase_file;
        } else if (strcmp(argv[i], "--key-file") == 0) {
            dst = &out->sec.key_file;
        } else if (restore && strcmp(argv[i], "--data-dir") == 0) {
            dst = &out->data_dir;
        } else if (restore && strcmp(argv[i], "--kek-file") == 0) {
            dst = &out->kek_file;
        } else if (restore && strcmp(argv[i], "--kek-pkcs11") == 0) {
            dst = &out->kek_uri;
        } else if (restore && strcmp(argv[i], "--signing-keys-pkcs11") == 0) {
            dst = &out->signing_uri;
        }
        if (dst == NULL || *dst != NULL || i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        *dst = argv[++i];
    }
    if (out->sec.passphrase_file != NULL && out->sec.key_file != NULL) {
        fprintf(stderr, "attestctl: give either --passphrase-file or --key-file\n");
        return 2;
    }
    if (restore && (out->data_dir == NULL || (out->kek_file == NULL) == (out->kek_uri == NULL))) {
        fprintf(stderr, "attestctl: restore needs --data-dir DIR and --kek-file KEK (or "
                        "--kek-pkcs11 URI)\n");
        return 2;
    }
    return 0;
}

/* backup create FILE ... (a store command) */
static int cmd_backup(struct att_admin *a, int argc, char **argv)
{
    struct backup_args b;
    if (argc < 2 || strcmp(argv[0], "create") != 0) {
        usage(stderr);
        return 2;
    }
    int bad = backup_flags(argc - 2, argv + 2, false, &b);
    if (bad != 0) {
        return bad;
    }
    char err[1024];
    char *json = NULL;
    return answer(att_admin_backup_create(a, argv[1], &b.sec, &json, err, sizeof(err)), &json, err);
}

/* backup verify FILE ... and restore FILE ...: no store of ours is opened. */
static int cmd_archive(int n, char **args)
{
    struct backup_args b;
    bool restore = strcmp(args[0], "restore") == 0;
    int skip = restore ? 2 : 3;
    if (n < skip) {
        usage(stderr);
        return 2;
    }
    int bad = backup_flags(n - skip, args + skip, restore, &b);
    if (bad != 0) {
        return bad;
    }
    char err[1024];
    char *json = NULL;
    const char *file = args[skip - 1];
    int rc = restore ? att_admin_restore(file, b.data_dir, &b.sec, b.kek_file, b.kek_uri,
                                         b.signing_uri, &json, err, sizeof(err))
                     : att_admin_backup_verify(file, &b.sec, &json, err, sizeof(err));
    return answer(rc, &json, err);
}

/*
 * The audit action of a command that changes the store, or NULL for one that only reads: such
 * commands are recorded before (nothing is changed if that fails) and after they run.
 */
static const char *change_action(int n, char **args)
{
    static const struct {
        const char *cmd, *sub, *action;
    } changes[] = {
        {"demo", NULL, "provider.create"}, /* any arguments */
        {"provider", "create", "provider.create"},
        {"provider", "set", "provider.set"},
        {"provider", "delete", "provider.delete"},
        {"kek", "rotate", "kek.rotate"},
        {"provider", "rotate-key", "provider.key.rotate"},
        {"principal", "create", "principal.create"},
        {"principal", "disable", "principal.disable"},
        {"principal", "enable", "principal.enable"},
        {"principal", "delete", "principal.delete"},
        {"principal", "secret", "principal.secret"},
        {"principal", "cert", "principal.cert"},
        {"role", "assign", "role.assign"},
        {"role", "revoke", "role.revoke"},
        {"policy", "rollback", "policy.rollback"},
        {"collateral", "import", "collateral.import"},
        {"token", "issue", "token.issue"},
        {"audit", "acknowledge-loss", "audit.loss"},
        {"backup", "create", "backup.create"},
    };
    for (size_t i = 0; n >= 1 && i < sizeof(changes) / sizeof(changes[0]); i++) {
        if (strcmp(args[0], changes[i].cmd) == 0 &&
            (changes[i].sub == NULL || (n >= 2 && strcmp(args[1], changes[i].sub) == 0))) {
            return changes[i].action;
        }
    }
    return NULL;
}

/* Run one store command, recorded in the audit trail when it changes something. */
static int run_store_command(struct att_admin *a, int n, char **args,
                             int (*cmd)(struct att_admin *, int, char **), int skip)
{
    char err[1024];
    const char *action = change_action(n, args);
    if (action != NULL && att_admin_audit_begin(a, action, (const char *const *)args, (size_t)n,
                                                err, sizeof(err)) != 0) {
        fprintf(stderr, "attestctl: %s\n", err);
        return 1;
    }
    int rc = cmd(a, n - skip, args + skip);
    if (action != NULL) {
        char why[32];
        snprintf(why, sizeof(why), "exit status %d", rc);
        att_admin_audit_end(a, action, rc, rc == 0 ? NULL : why);
    }
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    const char *data_dir = NULL;
    int ch;
    /* '+': stop at the first non-option, so subcommand flags are left to the subcommand. */
    while ((ch = getopt_long(argc, argv, "+c:d:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("attestctl %s\n", ATT_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    int n = argc - optind;
    char **args = argv + optind;
    if (n < 1) {
        usage(stderr);
        return 2;
    }
    if (n == 1 && strcmp(args[0], "routes") == 0) {
        char *json = att_admin_routes();
        if (json == NULL) {
            fprintf(stderr, "attestctl: out of memory\n");
            return 1;
        }
        return print_and_free(json);
    }
    if (strcmp(args[0], "version") == 0) {
        printf("attestctl %s\n", ATT_VERSION);
        return 0;
    }
    if (n == 4 && strcmp(args[0], "kek") == 0 && strcmp(args[1], "generate") == 0 &&
        strcmp(args[2], "--pkcs11") == 0) {
        char err[1024];
        char id[17];
        if (att_admin_kek_generate_pkcs11(args[3], id, err, sizeof(err)) != 0) {
            fprintf(stderr, "attestctl: %s\n", err);
            return 1;
        }
        printf("made a new key-encryption key in the token (kek id %s); set kek_pkcs11 to its "
               "URI\n",
               id);
        return 0;
    }
    if (n == 3 && strcmp(args[0], "kek") == 0 && strcmp(args[1], "generate") == 0) {
        char err[1024];
        if (att_admin_kek_generate(args[2], err, sizeof(err)) != 0) {
            fprintf(stderr, "attestctl: %s\n", err);
            return 1;
        }
        printf("wrote a new key-encryption key to %s (mode 0600)\n", args[2]);
        return 0;
    }
    if (n >= 2 && strcmp(args[0], "policy") == 0 && strcmp(args[1], "sign") == 0) {
        return cmd_policy_sign(n - 2, args + 2);
    }
    if (strcmp(args[0], "verify") == 0) {
        return cmd_verify(config, data_dir, n - 1, args + 1);
    }
    if (strcmp(args[0], "restore") == 0 ||
        (n >= 2 && strcmp(args[0], "backup") == 0 && strcmp(args[1], "verify") == 0)) {
        return cmd_archive(n, args);
    }
    if ((n == 3 || (n == 4 && strcmp(args[3], "--ccel") == 0)) &&
        strcmp(args[0], "eventlog") == 0 && strcmp(args[1], "show") == 0) {
        char err[1024];
        char *text = NULL;
        if (att_admin_eventlog_show(args[2], n == 4, &text, err, sizeof(err)) != 0) {
            fprintf(stderr, "attestctl: %s\n", err);
            return 1;
        }
        fputs(text, stdout);
        att_admin_free_string(text);
        return 0;
    }
    if (n == 3 && strcmp(args[0], "inspect") == 0) {
        char err[1024];
        char *json = NULL;
        return answer(att_admin_inspect(args[1], args[2], &json, err, sizeof(err)), &json, err);
    }
    static const struct {
        const char *name;
        int (*cmd)(struct att_admin *, int, char **);
    } store_commands[] = {
        {"collateral", cmd_collateral},
        {"provider", cmd_provider},
        {"principal", cmd_principal},
        {"role", cmd_role},
        {"policy", cmd_policy},
        {"token", cmd_token},
        {"audit", cmd_audit},
        {"backup", cmd_backup},
        {"demo", cmd_demo},
    };
    struct att_admin *a = NULL;
    int rc = 2;
    int (*cmd)(struct att_admin *, int, char **) = NULL;
    int skip = 1; /* words that name the command */
    for (size_t i = 0; i < sizeof(store_commands) / sizeof(store_commands[0]); i++) {
        if (strcmp(args[0], store_commands[i].name) == 0) {
            cmd = store_commands[i].cmd;
        }
    }
    if (n >= 2 && strcmp(args[0], "kek") == 0 && strcmp(args[1], "rotate") == 0) {
        cmd = cmd_kek_rotate;
        skip = 2;
    }
    if (cmd == NULL) {
        usage(stderr);
    } else {
        rc = open_admin(config, data_dir, &a) != 0 ? 1 : run_store_command(a, n, args, cmd, skip);
    }
    att_admin_close(a);
    return rc;
}
