/*
 * der.h - a minimal DER (ITU-T X.690) element reader on the bounded reader, for the few
 * certificate extensions OpenSSL does not decode for us (Intel's SGX extension, AMD's VCEK
 * extensions). Definite lengths only, single-byte tags, lengths up to 2^24: enough for any
 * certificate extension, and everything else is refused.
 */
#ifndef ATT_X509_DER_H
#define ATT_X509_DER_H

#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"

#define ATT_DER_INTEGER 0x02
#define ATT_DER_OCTET_STRING 0x04
#define ATT_DER_OID 0x06
#define ATT_DER_ENUMERATED 0x0A
#define ATT_DER_BOOLEAN 0x01
#define ATT_DER_IA5STRING 0x16
#define ATT_DER_SEQUENCE 0x30
/* Written by the test PKIs (src/demo/wbuf.h), never read here. */
#define ATT_DER_BIT_STRING 0x03
#define ATT_DER_NULL 0x05
#define ATT_DER_CTX0 0xA0
#define ATT_DER_CTX1 0xA1
#define ATT_DER_CTX2 0xA2
#define ATT_DER_CTX3 0xA3

/*
 * Read one element: its tag and a child reader over exactly its contents.
 * Errors: ATT_ERR_TRUNCATED, ATT_ERR_PARSE (multi-byte tag, indefinite or over-long length).
 */
att_err att_der_next(struct att_rd *r, uint8_t *tag, struct att_rd *contents) ATT_WUR;

/* Read one element and require its tag. ATT_ERR_PARSE when the tag differs. */
att_err att_der_expect(struct att_rd *r, uint8_t tag, struct att_rd *contents) ATT_WUR;

/*
 * Read a non-negative INTEGER (or ENUMERATED, by `tag`) of at most `max`.
 * ATT_ERR_PARSE for negative, empty or out-of-range values.
 */
att_err att_der_uint(struct att_rd *r, uint8_t tag, uint64_t max, uint64_t *out) ATT_WUR;

#endif
