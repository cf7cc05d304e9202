/*
 * intel_root.h - the Intel SGX Root CA, the default DCAP trust anchor.
 *
 * Intel publishes it at https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_
 * Certification_RootCA.pem (P-256, valid 2018-05-21 .. 2049-12-31). Operators can replace it
 * with `dcap_trust_anchors` (docs/config.md); chains are anchored on its key (dcap.h).
 */
#ifndef ATT_EVIDENCE_INTEL_INTEL_ROOT_H
#define ATT_EVIDENCE_INTEL_INTEL_ROOT_H

extern const char att_intel_sgx_root_ca_pem[];

#endif
