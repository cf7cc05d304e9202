/* test_init.c - `attestctl init` (src/admin/init.c) and the TLS server certificate and request it
 * makes (src/x509/selfsigned.c): the names accepted, the extensions (RFC 5280 §4.2.1), the
 * files, their modes and contents, what is kept, and refusals that write nothing. */
#include "att_test.h"

#include <ftw.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "att/admin.h"
#include "core/buf.h"
#include "core/file.h"
#include "x509/selfsigned.h"

/* ---- the names ---- */

static void test_name_check(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        att_err rc;
        bool ip;
    } cases[] = {
        {"attest.example.com", ATT_OK, false},
        {"localhost", ATT_OK, false},
        {"*.attest.example", ATT_OK, false},
        {"a-b.example", ATT_OK, false},
        {"xn--bcher-kva.example", ATT_OK, false},
        {"127.0.0.1", ATT_OK, true},
        {"10.1.2.3", ATT_OK, true},
        {"::1", ATT_OK, true},
        {"2001:db8::7", ATT_OK, true},
        {"", ATT_ERR_ARG, false},
        {"-a.example", ATT_ERR_ARG, false},
        {"a-.example", ATT_ERR_ARG, false},
        {"a..example", ATT_ERR_ARG, false},
        {".example", ATT_ERR_ARG, false},
        {"example.", ATT_ERR_ARG, false},
        {"a_b.example", ATT_ERR_ARG, false},
        {"a b", ATT_ERR_ARG, false},
        {"*", ATT_ERR_ARG, false},
        {"*.", ATT_ERR_ARG, false},
        {"a.*.example", ATT_ERR_ARG, false},
        {"**.example", ATT_ERR_ARG, false},
        {"[::1]", ATT_ERR_ARG, false},
        {"fe80::1%eth0", ATT_ERR_ARG, false},
        {"host:443", ATT_ERR_ARG, false},
        {"user@host", ATT_ERR_ARG, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool ip = !cases[i].ip;
        att_err rc = att_x509_server_name_check(cases[i].name, &ip);
        if (rc != cases[i].rc || (rc == ATT_OK && ip != cases[i].ip)) {
            fail_msg("'%s': %s, ip %d", cases[i].name, att_err_name(rc), ip);
        }
    }
    /* RFC 1035 §2.3.4: labels of 63, names of 253 characters at most */
    char name[300];
    memset(name, 'a', 63);
    snprintf(name + 63, sizeof(name) - 63, ".example");
    bool ip = true;
    EXPECT_OK(att_x509_server_name_check(name, &ip));
    assert_false(ip);
    memset(name, 'a', 64);
    snprintf(name + 64, sizeof(name) - 64, ".example");
    EXPECT_ERR(att_x509_server_name_check(name, &ip), ATT_ERR_ARG);
    for (size_t i = 0; i < 253; i++) {
        name[i] = i % 2 == 0 ? 'a' : '.';
    }
    name[253] = '\0';
    EXPECT_OK(att_x509_server_name_check(name, &ip));
    snprintf(name + 253, sizeof(name) - 253, ".a");
    EXPECT_ERR(att_x509_server_name_check(name, &ip), ATT_ERR_ARG);
}

/* ---- the certificate and the request ---- */

static const char *const NAMES[] = {"attest.example", "10.1.2.3", "::1", "*.w.example"};
#define N_NAMES (sizeof(NAMES) / sizeof(NAMES[0]))

/* The subjectAltName of a certificate or request as "DNS:a,IP:1.2.3.4,...". */
static void san_text(const GENERAL_NAMES *gns, char *out, size_t n)
{
    out[0] = '\0';
    for (int i = 0; i < sk_GENERAL_NAME_num(gns); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);
        size_t at = strlen(out);
        if (gn->type == GEN_DNS) {
            snprintf(out + at, n - at, "%sDNS:%s", i > 0 ? "," : "",
                     (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
        } else if (gn->type == GEN_IPADD) {
            snprintf(out + at, n - at, "%sIP:%d", i > 0 ? "," : "",
                     ASN1_STRING_length(gn->d.iPAddress));
        } else {
            snprintf(out + at, n - at, "%s?", i > 0 ? "," : "");
        }
    }
}

/* The extensions a server's certificate or request carries (selfsigned.h). */
static void check_server_extensions(const STACK_OF(X509_EXTENSION) * exts)
{
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_int_equal(crit, 1);
    assert_int_equal(bc->ca, 0);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING *ku = X509V3_get_d2i(exts, NID_key_usage, &crit, NULL);
    assert_non_null(ku);
    assert_int_equal(crit, 1);
    assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 0), 1); /* digitalSignature */
    for (int bit = 1; bit < 9; bit++) {
        assert_int_equal(ASN1_BIT_STRING_get_bit(ku, bit), 0);
    }
    ASN1_BIT_STRING_free(ku);
    EXTENDED_KEY_USAGE *eku = X509V3_get_d2i(exts, NID_ext_key_usage, &crit, NULL);
    assert_non_null(eku);
    assert_int_equal(crit, 0);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    GENERAL_NAMES *gns = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
    assert_non_null(gns);
    assert_int_equal(crit, 0);
    char text[256];
    san_text(gns, text, sizeof(text));
    assert_string_equal(text, "DNS:attest.example,IP:4,IP:16,DNS:*.w.example");
    GENERAL_NAMES_free(gns);
}

static void check_cn(const X509_NAME *name, const char *want)
{
    char cn[128];
    assert_int_equal(X509_NAME_entry_count(name), 1);
    assert_int_equal(X509_NAME_get_text_by_NID(name, NID_commonName, cn, sizeof(cn)),
                     (int)strlen(want));
    assert_string_equal(cn, want);
}

static void test_server_self_signed(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct att_buf der;
    att_buf_init(&der, 1 << 16);
    EXPECT_OK(att_x509_server_self_signed(key, NAMES, N_NAMES, 1700000000, 397, &der));
    const unsigned char *p = der.data;
    X509 *x = d2i_X509(NULL, &p, (long)der.len);
    assert_non_null(x);
    assert_ptr_equal(p, der.data + der.len);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(X509_verify(x, key), 1);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    check_cn(X509_get_subject_name(x), "attest.example");
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
    /* exactly 397 days from not_before */
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), 1700000000), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), 1700000000 + 397 * 86400), 0);
    check_server_extensions(X509_get0_extensions(x));
    assert_non_null(X509_get0_subject_key_id(x));
    /* RFC 5280 §4.1.2.2: a positive serial of at most 20 octets */
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);
    assert_int_equal(ASN1_STRING_length(serial), 16);
    X509_free(x);
    /* refusals: no name, too many, a bad one */
    const char *many[ATT_X509_SERVER_NAMES_MAX + 1];
    for (size_t i = 0; i <= ATT_X509_SERVER_NAMES_MAX; i++) {
        many[i] = "a.example";
    }
    att_buf_reset(&der);
    EXPECT_ERR(att_x509_server_self_signed(key, NAMES, 0, 1700000000, 397, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_server_self_signed(key, many, ATT_X509_SERVER_NAMES_MAX + 1, 1700000000,
                                           397, &der),
               ATT_ERR_ARG);
    EXPECT_OK(
        att_x509_server_self_signed(key, many, ATT_X509_SERVER_NAMES_MAX, 1700000000, 397, &der));
    const char *bad[] = {"attest.example", "a b"};
    EXPECT_ERR(att_x509_server_request(key, bad, 2, &der), ATT_ERR_ARG);
    att_buf_cleanup(&der);
    EVP_PKEY_free(key);
}

static void test_server_request(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct att_buf der;
    att_buf_init(&der, 1 << 16);
    EXPECT_OK(att_x509_server_request(key, NAMES, N_NAMES, &der));
    const unsigned char *p = der.data;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)der.len);
    assert_non_null(req);
    assert_ptr_equal(p, der.data + der.len);
    assert_int_equal(X509_REQ_get_version(req), X509_REQ_VERSION_1);
    assert_int_equal(X509_REQ_verify(req, key), 1);
    assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA256);
    check_cn(X509_REQ_get_subject_name(req), "attest.example");
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    assert_int_equal(sk_X509_EXTENSION_num(exts), 4);
    check_server_extensions(exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    att_buf_cleanup(&der);
    EVP_PKEY_free(key);
}

/* ---- att_admin_init: files ---- */

struct dir {
    char root[64];
    char conf[128];
    char data[128];
    char path[256];
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void dir_new(struct dir *d, const char *config)
{
    att_test_mkdtemp("init", d->root, sizeof(d->root));
    snprintf(d->conf, sizeof(d->conf), "%s/attestd.conf", d->root);
    snprintf(d->data, sizeof(d->data), "%s/data", d->root);
    FILE *f = fopen(d->conf, "w");
    assert_non_null(f);
    fputs(config, f);
    fclose(f);
}

static void dir_free(struct dir *d)
{
    assert_int_equal(nftw(d->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static const char *in(struct dir *d, const char *name)
{
    snprintf(d->path, sizeof(d->path), "%s/%s", d->data, name);
    return d->path;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static void read_all(const char *path, struct att_buf *out)
{
    att_buf_init(out, 1 << 16);
    EXPECT_OK(att_file_read(path, 1 << 16, out));
}

static int run_init(struct dir *d, bool self_signed, const char *const *names, size_t n,
                    char **text, char *err, size_t err_len)
{
    struct att_admin_init_args args = {d->conf, d->data, self_signed, names, n};
    *text = NULL;
    return att_admin_init(&args, text, err, err_len);
}

/* Whether `line` is one of text's lines, up to the owner in parentheses it ends with. */
static void expect_line(const char *text, const char *line)
{
    const char *at = strstr(text, line);
    if (at == NULL || (at != text && at[-1] != '\n')) {
        fail_msg("no line '%s' in:\n%s", line, text);
    }
}

static const char CONFIG[] = "public_url = https://attest.example:8443\n"
                             "listen = 127.0.0.1:8443\n";

static void test_init_self_signed_then_kept(void **state)
{
    (void)state;
    struct dir d;
    char err[1024] = "";
    char *text = NULL;
    const char *names[] = {"127.0.0.1", "attest.example", "localhost"}; /* one twice */
    dir_new(&d, CONFIG);
    umask(077); /* the modes are set exactly, not through the umask */
    assert_int_equal(run_init(&d, true, names, 3, &text, err, sizeof(err)), 0);
    umask(022);
    char line[512];
    snprintf(line, sizeof(line), "data directory %s: made (0700, ", d.data);
    expect_line(text, line);
    snprintf(line, sizeof(line), "key-encryption key %s: made (0600, ", in(&d, "kek.key"));
    expect_line(text, line);
    snprintf(line, sizeof(line), "TLS key %s: made, P-256 (0600, ", in(&d, "tls/server.key"));
    expect_line(text, line);
    snprintf(line, sizeof(line),
             "self-signed certificate %s: made for attest.example, 127.0.0.1, localhost, valid "
             "until ",
             in(&d, "tls/server.pem"));
    expect_line(text, line);
    free(text);
    assert_int_equal(mode_of(d.data), 0700);
    assert_int_equal(mode_of(in(&d, "kek.key")), 0600);
    assert_int_equal(mode_of(in(&d, "tls")), 0755);
    assert_int_equal(mode_of(in(&d, "tls/server.key")), 0600);
    assert_int_equal(mode_of(in(&d, "tls/server.pem")), 0644);
    assert_int_equal(access(in(&d, "tls/server.pem.csr"), F_OK), -1);

    /* the certificate is for the key written beside it */
    FILE *f = fopen(in(&d, "tls/server.pem"), "r");
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    f = fopen(in(&d, "tls/server.key"), "r");
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    assert_non_null(key);
    assert_int_equal(X509_check_private_key(x, key), 1);
    assert_true(EVP_PKEY_is_a(key, "EC"));
    char curve[32];
    assert_int_equal(EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), NULL), 1);
    assert_string_equal(curve, "prime256v1");
    X509_free(x);
    EVP_PKEY_free(key);

    /* again, either way: everything is kept, byte for byte */
    struct att_buf before[3];
    read_all(in(&d, "kek.key"), &before[0]);
    read_all(in(&d, "tls/server.key"), &before[1]);
    read_all(in(&d, "tls/server.pem"), &before[2]);
    for (int self_signed = 0; self_signed < 2; self_signed++) {
        assert_int_equal(run_init(&d, self_signed, names, 1, &text, err, sizeof(err)), 0);
        snprintf(line, sizeof(line), "data directory %s: exists, kept (0700, ", d.data);
        expect_line(text, line);
        snprintf(line, sizeof(line), "key-encryption key %s: exists, kept (0600, ",
                 in(&d, "kek.key"));
        expect_line(text, line);
        snprintf(line, sizeof(line), "TLS key %s: exists, kept (0600, ", in(&d, "tls/server.key"));
        expect_line(text, line);
        snprintf(line, sizeof(line), "certificate %s: exists, kept (0644, ",
                 in(&d, "tls/server.pem"));
        expect_line(text, line);
        assert_null(strstr(text, "made"));
        free(text);
    }
    const char *files[] = {"kek.key", "tls/server.key", "tls/server.pem"};
    for (size_t i = 0; i < 3; i++) {
        struct att_buf now;
        read_all(in(&d, files[i]), &now);
        assert_int_equal(now.len, before[i].len);
        assert_memory_equal(now.data, before[i].data, now.len);
        att_buf_cleanup(&now);
        att_buf_cleanup(&before[i]);
    }
    assert_int_equal(access(in(&d, "tls/server.pem.csr"), F_OK), -1);
    dir_free(&d);
}

static void test_init_request_then_self_signed(void **state)
{
    (void)state;
    struct dir d;
    char err[1024] = "";
    char *text = NULL;
    const char *names[] = {"2001:db8::7"};
    dir_new(&d, "public_url = https://[2001:db8::1]:8443\n");
    assert_int_equal(run_init(&d, false, names, 1, &text, err, sizeof(err)), 0);
    char line[512];
    snprintf(line, sizeof(line),
             "certificate signing request %s: made for 2001:db8::1, 2001:db8::7 (0644, ",
             in(&d, "tls/server.pem.csr"));
    expect_line(text, line);
    snprintf(line, sizeof(line), "1. Have your CA sign the request %s,\n",
             in(&d, "tls/server.pem.csr"));
    expect_line(text, line);
    free(text);
    assert_int_equal(mode_of(in(&d, "tls/server.pem.csr")), 0644);
    assert_int_equal(access(in(&d, "tls/server.pem"), F_OK), -1);

    FILE *f = fopen(in(&d, "tls/server.pem.csr"), "r");
    X509_REQ *req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(req);
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);

    /* the request waits: kept; a self-signed certificate is then made for the same key */
    assert_int_equal(run_init(&d, false, names, 1, &text, err, sizeof(err)), 0);
    snprintf(line, sizeof(line), "certificate signing request %s: exists, kept (0644, ",
             in(&d, "tls/server.pem.csr"));
    expect_line(text, line);
    expect_line(text, "1. Have your CA sign the request ");
    free(text);
    assert_int_equal(run_init(&d, true, names, 1, &text, err, sizeof(err)), 0);
    snprintf(line, sizeof(line), "TLS key %s: exists, kept (0600, ", in(&d, "tls/server.key"));
    expect_line(text, line);
    free(text);
    f = fopen(in(&d, "tls/server.pem"), "r");
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pub), 1);
    X509_free(x);
    X509_REQ_free(req);
    dir_free(&d);
}

/* Refusals are made before anything is written. */
static void test_init_refusals_write_nothing(void **state)
{
    (void)state;
    static const struct {
        const char *config;
        const char *name;
        const char *err;
    } cases[] = {
        {CONFIG, "a b", "--name a b: not a DNS name or an IP address"},
        {CONFIG, "[::1]", "--name [::1]: not a DNS name or an IP address"},
        {"listen = 0.0.0.0:8443\n", NULL,
         "no name for the TLS certificate: set public_url, or give --name HOST"},
        {"public_url = https://user@attest.example\n", NULL,
         "public_url https://user@attest.example: its host 'user@attest.example' is not a DNS "
         "name or an IP address"},
        {"frob = 1\n", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dir d;
        char err[1024] = "";
        char *text = NULL;
        const char *names[] = {cases[i].name};
        dir_new(&d, cases[i].config);
        assert_int_equal(run_init(&d, true, names, cases[i].name != NULL, &text, err, sizeof(err)),
                         1);
        assert_null(text);
        if (cases[i].err != NULL) {
            assert_string_equal(err, cases[i].err);
        } else {
            char want[256];
            snprintf(want, sizeof(want), "%s:1: unknown key 'frob'", d.conf);
            assert_string_equal(err, want);
        }
        assert_int_equal(access(d.data, F_OK), -1);
        dir_free(&d);
    }
    /* more names than a certificate takes */
    const char *many[ATT_ADMIN_INIT_MAX_NAMES];
    char text_names[ATT_ADMIN_INIT_MAX_NAMES][16];
    for (size_t i = 0; i < ATT_ADMIN_INIT_MAX_NAMES; i++) {
        snprintf(text_names[i], sizeof(text_names[i]), "n%zu.example", i);
        many[i] = text_names[i];
    }
    struct dir d;
    char err[1024] = "";
    char *text = NULL;
    dir_new(&d, CONFIG);
    assert_int_equal(run_init(&d, true, many, ATT_ADMIN_INIT_MAX_NAMES, &text, err, sizeof(err)),
                     1);
    assert_string_equal(err, "at most 32 names");
    assert_int_equal(access(d.data, F_OK), -1);
    /* 31 more than public_url's host fit */
    assert_int_equal(
        run_init(&d, true, many, ATT_ADMIN_INIT_MAX_NAMES - 1, &text, err, sizeof(err)), 0);
    free(text);
    dir_free(&d);
}

/* init reads the configuration only: attestctl runs it here, never through the admin socket. */
static void test_init_is_local(void **state)
{
    (void)state;
    char w0[] = "init";
    char w1[] = "--self-signed";
    char *argv[] = {w0, w1, NULL};
    assert_int_equal(att_admin_cli_kind(2, argv), ATT_ADMIN_CLI_LOCAL);
    assert_false(att_admin_cli_changes(2, argv));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_check),
        cmocka_unit_test(test_server_self_signed),
        cmocka_unit_test(test_server_request),
        cmocka_unit_test(test_init_self_signed_then_kept),
        cmocka_unit_test(test_init_request_then_self_signed),
        cmocka_unit_test(test_init_refusals_write_nothing),
        cmocka_unit_test(test_init_is_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
