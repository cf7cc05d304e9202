/*
 * eventlog.c - attestctl eventlog show: a TCG event log as a readable listing (docs/attestation.md
 * "TPM"). The log is parsed and its data decoded by the server's code (src/evidence/tpm); nothing
 * is verified: without a quote no PCR value is proven.
 */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/file.h"
#include "evidence/tpm/eventdata.h"
#include "evidence/tpm/eventlog.h"

#define MAX_LOG ((size_t)16 << 20)
#define DATA_SHOWN 96 /* characters of decoded data per line */

static const char *type_name(uint32_t type, char buf[24])
{
    const char *name = att_tcg_event_type_name(type);
    if (name == NULL) {
        snprintf(buf, 24, "0x%08X", type);
        return buf;
    }
    return name;
}

/* The event's decoded data (MAA's ProcessedData), compact and cut to DATA_SHOWN characters. */
static void data_text(json_t *events, uint32_t seq, struct att_buf *out)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(events, "Events"), i, e)
    {
        if (json_integer_value(json_object_get(e, "EventSeq")) != (json_int_t)seq) {
            continue;
        }
        json_t *pd = json_object_get(e, "ProcessedData");
        char *t = pd != NULL ? json_dumps(pd, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (t == NULL) {
            att_ignore_err(att_buf_puts(out, "(data does not hash to the digest)"));
            return;
        }
        size_t n = strlen(t);
        att_ignore_err(att_buf_put(out, t, n > DATA_SHOWN ? DATA_SHOWN : n));
        if (n > DATA_SHOWN) {
            att_ignore_err(att_buf_puts(out, "..."));
        }
        free(t);
        return;
    }
}

static void hex_of(struct att_bytes b, struct att_buf *out)
{
    if (att_hex_encode(b.ptr, b.len, out) != ATT_OK) {
        att_ignore_err(att_buf_puts(out, "?"));
    }
}

int att_admin_eventlog_show(const char *path, bool ccel, char **text_out, char *err, size_t err_len)
{
    struct att_buf raw;
    struct att_buf out;
    struct att_tcg_log log;
    struct att_boot_facts facts;
    json_t *events = NULL;
    char msg[256] = "";
    int rc = 1;

    att_buf_init(&raw, MAX_LOG);
    att_buf_init(&out, (size_t)64 << 20);
    memset(&log, 0, sizeof(log));
    if (att_file_read(path, MAX_LOG, &raw) != ATT_OK) {
        att_admin_fail(err, err_len, "%s: cannot read (or larger than 16 MiB)", path);
        goto out;
    }
    struct att_bytes in = {raw.data, raw.len};
    att_err e =
        att_tcg_log_parse(in, ccel ? ATT_TCG_LOG_CCEL : ATT_TCG_LOG_TPM, &log, msg, sizeof(msg));
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "%s: %s: %s", path, att_err_name(e), msg);
        goto out;
    }
    /* the largest bank decodes the data; every register counts as proven (nothing is) */
    uint16_t bank = log.alg[0];
    for (size_t i = 0; i < log.nalgs; i++) {
        if (att_tpm_digest_size(log.alg[i]) > att_tpm_digest_size(bank)) {
            bank = log.alg[i];
        }
    }
    if (att_tcg_events_decode(&log, 0xFFFFFF, bank, &events, &facts, msg, sizeof(msg)) == ATT_OK) {
        att_boot_facts_free(&facts);
    } else {
        att_ignore_err(att_buf_printf(&out, "warning: %s\n", msg));
    }
    att_ignore_err(att_buf_printf(
        &out, "%s log, %zu events, digests:", log.crypto_agile ? "crypto-agile" : "SHA-1 (legacy)",
        log.nevents));
    for (size_t i = 0; i < log.nalgs; i++) {
        att_ignore_err(att_buf_printf(&out, " %s", att_tpm_alg_name(log.alg[i])));
    }
    att_ignore_err(att_buf_puts(&out, "\n\n"));
    for (size_t i = 0; i < log.nevents; i++) {
        const struct att_tcg_event *ev = &log.events[i];
        char tb[24];
        att_ignore_err(att_buf_printf(&out, "%4u  %s %2u  %s\n", (unsigned)ev->seq,
                                      ccel ? "MR " : "PCR", (unsigned)ev->index,
                                      type_name(ev->type, tb)));
        for (size_t d = 0; d < ev->ndigests && ev->type != ATT_EV_NO_ACTION; d++) {
            att_ignore_err(
                att_buf_printf(&out, "      %-6s ", att_tpm_alg_name(ev->digest[d].alg)));
            hex_of(ev->digest[d].value, &out);
            att_ignore_err(att_buf_putc(&out, '\n'));
        }
        if (ev->type != ATT_EV_NO_ACTION && events != NULL) {
            att_ignore_err(att_buf_puts(&out, "      data   "));
            data_text(events, ev->seq, &out);
            att_ignore_err(att_buf_putc(&out, '\n'));
        }
    }
    for (size_t a = 0; a < log.nalgs; a++) {
        uint8_t vals[ATT_TCG_MAX_INDEX][ATT_TPM_DIGEST_MAX];
        uint32_t touched = 0;
        size_t size = att_tpm_digest_size(log.alg[a]);
        if (size == 0 ||
            att_tcg_log_replay(&log, log.alg[a], vals, &touched, msg, sizeof(msg)) != ATT_OK) {
            continue;
        }
        att_ignore_err(
            att_buf_printf(&out, "\nreplayed %s values:\n", att_tpm_alg_name(log.alg[a])));
        for (unsigned r = 0; r < ATT_TCG_MAX_INDEX; r++) {
            if ((touched >> r & 1u) != 0) {
                struct att_bytes v = {vals[r], size};
                att_ignore_err(att_buf_printf(&out, "  %s %2u  ", ccel ? "MR " : "PCR", r));
                hex_of(v, &out);
                att_ignore_err(att_buf_putc(&out, '\n'));
            }
        }
    }
    if (att_buf_err(&out) != ATT_OK || (*text_out = strdup(att_buf_cstr(&out))) == NULL) {
        att_admin_fail(err, err_len, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(events);
    att_tcg_log_free(&log);
    att_buf_cleanup(&raw);
    att_buf_cleanup(&out);
    return rc;
}
