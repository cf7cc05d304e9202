/*
 * fuzz_eventlog.c - libFuzzer target for the TCG event-log parser and its replay
 * (src/evidence/tpm/eventlog.c). Input: arbitrary bytes, fully untrusted, read as a PC Client
 * log and as a TDX CCEL log. Oracles beyond the sanitizers: events are numbered in order, every
 * extending event names a register there is, replay of every bank either succeeds or names an
 * event without that bank's digest, and decoding the events (every PCR taken as proven) yields
 * MAA's {"Events": [...]} or names an event whose data does not match its digest.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "evidence/tpm/eventdata.h"
#include "evidence/tpm/eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct att_tcg_log *log)
{
    uint8_t vals[ATT_TCG_MAX_INDEX][ATT_TPM_DIGEST_MAX];
    uint32_t touched = 0;
    char msg[256];
    uint32_t max = log->kind == ATT_TCG_LOG_CCEL ? 5 : ATT_TPM_PCRS;
    if (log->nevents == 0 || log->nevents > ATT_TCG_MAX_EVENTS || log->nalgs == 0) {
        abort();
    }
    for (size_t i = 0; i < log->nevents; i++) {
        const struct att_tcg_event *e = &log->events[i];
        if (e->seq != i || (e->type != ATT_EV_NO_ACTION && e->index >= max) ||
            e->ndigests > ATT_TCG_MAX_ALGS) {
            abort();
        }
    }
    for (size_t a = 0; a < log->nalgs; a++) {
        if (att_tpm_digest_size(log->alg[a]) == 0) {
            continue;
        }
        att_err rc = att_tcg_log_replay(log, log->alg[a], vals, &touched, msg, sizeof(msg));
        /* an event may lack a bank the Spec ID event lists: that is a refusal, not a crash */
        if (rc != ATT_OK && rc != ATT_ERR_EVENTLOG_FORMAT) {
            abort();
        }
        if (rc == ATT_OK && log->kind == ATT_TCG_LOG_TPM) {
            json_t *events = NULL;
            struct att_boot_facts f;
            rc = att_tcg_events_decode(log, 0xFFFFFF, log->alg[a], &events, &f, msg, sizeof(msg));
            if (rc == ATT_OK) {
                if (!json_is_array(json_object_get(events, "Events"))) {
                    abort();
                }
                json_decref(events);
                att_boot_facts_free(&f);
            } else if (rc != ATT_ERR_EVENTLOG_EVENT && rc != ATT_ERR_NOMEM) {
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_bytes in = {data, size};
    struct att_tcg_log log;
    char msg[256];
    if (att_tcg_log_parse(in, ATT_TCG_LOG_TPM, &log, msg, sizeof(msg)) == ATT_OK) {
        check(&log);
        att_tcg_log_free(&log);
    }
    if (att_tcg_log_parse(in, ATT_TCG_LOG_CCEL, &log, msg, sizeof(msg)) == ATT_OK) {
        check(&log);
        att_tcg_log_free(&log);
    }
    return 0;
}
