/*
 * certtable.h - the certificate table a host returns with an extended SEV-SNP report
 * (docs/reference/amd-sev-snp.md §6.3; AMD's GHCB specification, pub. 56421, "SNP Extended
 * Guest Request"): entries {GUID[16], offset u32 LE, length u32 LE}, ended by an all-zero entry,
 * offsets relative to the start of the table, each pointing at one DER certificate.
 *
 * Parsing only, through the bounded reader: the certificates are not parsed here. GUIDs are
 * compared in the byte order of their text form (RFC 9562 §4), as AMD's own guest tools and
 * virtee's write them. Unknown GUIDs are skipped; a known one twice is refused.
 */
#ifndef ATT_EVIDENCE_SNP_CERTTABLE_H
#define ATT_EVIDENCE_SNP_CERTTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"

#define ATT_SNP_CERT_TABLE_MAX_ENTRIES 32
#define ATT_SNP_CERT_TABLE_MAX (64 * 1024) /* the kernel's buffer is a few pages */

/* Views into the table's bytes; an absent certificate has len 0. */
struct att_snp_cert_table {
    struct att_bytes vcek, vlek, ask, ark; /* "ask" is the ASK or the ASVK */
};

/*
 * Parse `len` bytes. Errors: ATT_ERR_SNP_CERT_TABLE (no terminator within the bytes or within
 * ATT_SNP_CERT_TABLE_MAX_ENTRIES entries, an entry of length 0 or outside the bytes, or
 * overlapping the entries, a known GUID twice), ATT_ERR_TOO_LARGE. `msg` names the entry.
 */
att_err att_snp_cert_table_parse(const uint8_t *p, size_t len, struct att_snp_cert_table *out,
                                 char *msg, size_t msg_len) ATT_WUR;

#endif
