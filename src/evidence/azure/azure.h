/*
 * azure.h - Azure confidential VM guest attestation on the evidence interface
 * (src/evidence/evidence.h): POST /attest/AzureGuest with {"attestationInfo": base64(JSON)}, as
 * Microsoft's guest attestation clients send it ({IsolationInfo: {Type: SevSnp|Tdx, Evidence:
 * {Proof, RunTimeData}}, TpmInfo: {PcrQuote, PcrSignature, PCRs, ...}, TcgLogs, OS*,
 * ClientPayload}) or as confidential-containers' trustee writes it ({hcl_report, tpm_quote,
 * td_quote | vcek}); docs/attestation.md "AzureGuest", docs/reference/azure-cvm.md.
 *
 * Verified: the hardware report as SevSnpVm or TdxVm evidence (collateral as for those types),
 * SHA-256 of the HCL runtime data in its report data, the vTPM quote as TpmQuote evidence signed
 * by the runtime data's HCLAkPub, its PCRs and event log, and its freshness (a TpmQuote challenge
 * or the caller's nonce in the quote's extraData).
 */
#ifndef ATT_EVIDENCE_AZURE_AZURE_H
#define ATT_EVIDENCE_AZURE_AZURE_H

#include "evidence/evidence.h"

extern const struct att_evidence_type att_evidence_azure_guest;

#endif
