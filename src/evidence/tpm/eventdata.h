/*
 * eventdata.h - what a replayed event log says, for policies and claims: MAA's `events` JSON
 * (docs/reference/maa-tpm-protocol.md "Events and PCRs JSON") and the boot facts attestd derives
 * from it (Secure Boot state, Windows boot flags, boot applications, the kernel command line).
 *
 * Replay proves an event's digest, not its data. An event's data is used only when its PCR was
 * proven (att_tcg_log_check) and its digest is the hash of that data (for GRUB's command lines,
 * of the text after the "grub_cmd: " / "kernel_cmdline: " prefix); other events appear with
 * their digests only. Separators, UEFI driver-configuration variables and EFI actions must hash
 * to their digests (PFP §10.4.4, §10.4.5): one that does not fails the log
 * (ATT_ERR_EVENTLOG_EVENT). Windows' tagged events are decoded as SIPA trees
 * (docs/reference/tcg-event-decoding.md).
 */
#ifndef ATT_EVIDENCE_TPM_EVENTDATA_H
#define ATT_EVIDENCE_TPM_EVENTDATA_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "evidence/tpm/eventlog.h"

/* A boot fact attestd could or could not establish. */
enum att_tri { ATT_UNKNOWN = -1, ATT_FALSE = 0, ATT_TRUE = 1 };

struct att_boot_facts {
    enum att_tri secure_boot;      /* PCR 7's SecureBoot variable is 1 */
    bool windows;                  /* Windows boot events (SIPA trust boundaries) were seen */
    enum att_tri boot_debugging;   /* any BOOTDEBUGGING true (Windows) */
    enum att_tri kernel_debugging; /* any OSKERNELDEBUG true */
    enum att_tri safe_mode;        /* any SAFEMODE true */
    enum att_tri winpe;            /* any WINPE true */
    enum att_tri vbs;              /* VBS_VSM_REQUIRED true */
    enum att_tri iommu;            /* VBS_IOMMU_REQUIRED true */
    json_t *boot_apps;             /* hex digests of PCR 4 boot applications, in order */
    char *kernel_cmdline;          /* the last proven kernel command line, or NULL */
};

/*
 * Decode the events of a checked log: `verified` and `bank` as att_tcg_log_check gave them.
 * *events is MAA's {"Events": [...]} (a new reference); `facts` is filled (free with
 * att_boot_facts_free). ATT_ERR_EVENTLOG_EVENT names an event whose data must and does not
 * match its digest; ATT_ERR_NOMEM.
 */
att_err att_tcg_events_decode(const struct att_tcg_log *log, uint32_t verified, uint16_t bank,
                              json_t **events, struct att_boot_facts *facts, char *msg,
                              size_t msg_len) ATT_WUR;
void att_boot_facts_free(struct att_boot_facts *f);

/* MAA's `pcrs` JSON: {"PCRs": [{"Index": i, "Digests": {"SHA256": hex, ...}}]} for the PCRs of
 * `mask` that have a value in some bank. A new reference, NULL when out of memory. */
json_t *att_tpm_pcrs_json(const struct att_tpm_pcrs *pcrs, uint32_t mask);

#endif
