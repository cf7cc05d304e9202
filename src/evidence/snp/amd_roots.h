/* amd_roots.h - the built-in AMD trust anchors (amd_roots.c). */
#ifndef ATT_EVIDENCE_SNP_AMD_ROOTS_H
#define ATT_EVIDENCE_SNP_AMD_ROOTS_H

/* PEM text of the ARKs of Milan, Genoa and Turin. */
extern const char att_amd_ark_milan_pem[];
extern const char att_amd_ark_genoa_pem[];
extern const char att_amd_ark_turin_pem[];

#endif
