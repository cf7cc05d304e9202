/*
 * eventlog.h - TCG event logs: the PC Client firmware log (crypto-agile or legacy SHA-1) and the
 * confidential-computing log of TDX guests (CCEL), read through the bounded reader and replayed
 * per bank to the values a quote or report vouches for.
 *
 * Reference: TCG PC Client Platform Firmware Profile (PFP) 1.05, §10 "Event Logging" (framing,
 * TCG_EfiSpecIDEvent, TCG_PCR_EVENT2) and §10.4 "Event Types"; UEFI 2.10 §38.4 (CCEL);
 * docs/reference/tpm.md "Event logs".
 *
 * Replay proves digests, not event data: an event's data is trusted only where its digest can
 * be recomputed from it (eventdata.h decides which).
 */
#ifndef ATT_EVIDENCE_TPM_EVENTLOG_H
#define ATT_EVIDENCE_TPM_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"
#include "evidence/tpm/tpm2.h"

/* PFP §10.4.1 event types the verifier treats specially. */
#define ATT_EV_NO_ACTION 0x00000003u
#define ATT_EV_SEPARATOR 0x00000004u

/* Digest algorithms one record may carry (the Spec ID event's table). */
#define ATT_TCG_MAX_ALGS 8
/* Caps on what a client may send: events, and bytes of one event's data. */
#define ATT_TCG_MAX_EVENTS 16384
#define ATT_TCG_MAX_EVENT_DATA (1u << 20)
/* Registers a log may name: PCR 0-23, or CCEL's MR index 0 (MRTD) to 4 (RTMR3). */
#define ATT_TCG_MAX_INDEX 24

enum att_tcg_log_kind {
    ATT_TCG_LOG_TPM,  /* PC Client firmware log: indices are PCRs */
    ATT_TCG_LOG_CCEL, /* TDX CCEL: indices are MRTD (0) and RTMR0-3 (1-4), SHA-384 only */
};

struct att_tcg_digest {
    uint16_t alg;
    struct att_bytes value; /* borrowed from the log */
};

struct att_tcg_event {
    uint32_t seq;   /* position in the log, from 0 (the Spec ID event when there is one) */
    uint32_t index; /* PCR, or CCEL MR index */
    uint32_t type;
    size_t ndigests;
    struct att_tcg_digest digest[ATT_TCG_MAX_ALGS];
    struct att_bytes data; /* borrowed from the log */
};

struct att_tcg_log {
    enum att_tcg_log_kind kind;
    bool crypto_agile; /* false: every record is the legacy SHA-1 TCG_PCClientPCREvent */
    size_t nalgs;      /* the Spec ID event's algorithms (SHA-1 alone for a legacy log) */
    uint16_t alg[ATT_TCG_MAX_ALGS];
    uint16_t alg_size[ATT_TCG_MAX_ALGS];
    bool has_locality; /* a StartupLocality event sets PCR 0's initial value (PFP §10.4.5.3) */
    uint8_t locality;
    size_t nevents;
    struct att_tcg_event *events;
};

/*
 * Parse a log (borrowed: the log must outlive `out`). It ends where only padding remains: at
 * least 8 bytes, all 0xFF or all zero, up to the end (the ACPI CCEL area is padded so).
 * ATT_ERR_EVENTLOG_FORMAT names the record and its offset; ATT_ERR_TOO_LARGE beyond
 * ATT_TCG_MAX_EVENTS; ATT_ERR_NOMEM. Free with att_tcg_log_free.
 */
att_err att_tcg_log_parse(struct att_bytes in, enum att_tcg_log_kind kind, struct att_tcg_log *out,
                          char *msg, size_t msg_len) ATT_WUR;
void att_tcg_log_free(struct att_tcg_log *log);

/* The digest of `e` in bank `alg`, or NULL. */
const struct att_tcg_digest *att_tcg_event_digest(const struct att_tcg_event *e, uint16_t alg);

/* PFP §10.4.1 name of an event type ("EV_SEPARATOR"), NULL for a type it does not define. */
const char *att_tcg_event_type_name(uint32_t type);

/*
 * Replay bank `alg` of the log: every register starts at zero (PCR 0 at the startup locality),
 * each event except EV_NO_ACTION extends its register. `touched` gets a bit per register some
 * event extends. ATT_ERR_EVENTLOG_REPLAY when the log has no digests of that bank.
 */
att_err att_tcg_log_replay(const struct att_tcg_log *log, uint16_t alg,
                           uint8_t out[ATT_TCG_MAX_INDEX][ATT_TPM_DIGEST_MAX], uint32_t *touched,
                           char *msg, size_t msg_len) ATT_WUR;

/*
 * Check the log against PCR values a quote vouches for: for every bank the quote selects and the
 * log carries, each register the log extends and the quote selects must replay to its value.
 * `verified` gets the PCRs whose events are thereby proven (the claims use only those events),
 * `bank` the bank that proved them: of the banks that proved some PCR, the one with the largest
 * digest (event data counts only through that bank's digests, and only for its PCRs; with no
 * such bank, `verified` is empty).
 * ATT_ERR_EVENTLOG_REPLAY names the PCR and bank, or says no quoted bank is in the log.
 */
att_err att_tcg_log_check(const struct att_tcg_log *log, const struct att_tpm_quote *q,
                          const struct att_tpm_pcrs *pcrs, uint32_t *verified, uint16_t *bank,
                          char *msg, size_t msg_len) ATT_WUR;

/*
 * Check a CCEL log against a TD's RTMR0-3 (log indices 1-4; MRTD is not extended by events).
 * Every RTMR the log extends must replay to its value; `verified` gets bits 1-4 for them.
 * ATT_ERR_EVENTLOG_REPLAY names the RTMR.
 */
att_err att_tcg_log_check_rtmrs(const struct att_tcg_log *log, const uint8_t rtmr[4][48],
                                uint32_t *verified, char *msg, size_t msg_len) ATT_WUR;

#endif
