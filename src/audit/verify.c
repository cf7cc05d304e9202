/*
 * verify.c - check a whole audit trail (audit.h: att_audit_verify).
 *
 * Input trust: everything read here may have been edited by whoever had the file: rows are
 * re-hashed, their columns compared with their bodies, checkpoint signatures verified with
 * the access-token keys of the state database (which the caller looks up by kid).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "token/jws.h"

struct walk {
    att_audit_key_fn key;
    void *key_arg;
    int64_t seq;                       /* the previous row's seq */
    char hash[ATT_AUDIT_HASH_HEX + 1]; /* and hash */
    int64_t pruned_seq;                /* where the kept chain hangs */
    bool prune_recorded;               /* an audit.pruned record names pruned_seq */
    int64_t head_seq;                  /* the state database's checkpoint */
    const char *head_hash;
    bool head_seen;
    struct att_audit_verdict *v;
};

static att_err bad(struct walk *w, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static att_err bad(struct walk *w, int64_t seq, const char *fmt, ...)
{
    va_list ap;
    w->v->ok = false;
    w->v->bad_seq = seq;
    va_start(ap, fmt);
    vsnprintf(w->v->problem, sizeof(w->v->problem), fmt, ap);
    va_end(ap);
    return ATT_ERR_AUDIT_CHAIN; /* stops the scan */
}

/* A checkpoint row: its JWS verifies with the key it names and covers the row before it. */
static bool checkpoint_ok(struct walk *w, json_t *props)
{
    const char *jws = json_string_value(json_object_get(props, "jws"));
    struct att_jws unverified;
    struct att_jws verified;
    bool ok = false;
    if (jws == NULL || att_jws_decode_unverified(jws, strlen(jws), &unverified) != ATT_OK) {
        return false;
    }
    const char *kid = json_string_value(json_object_get(unverified.header, "kid"));
    EVP_PKEY *key = kid != NULL ? w->key(w->key_arg, kid) : NULL;
    att_jws_cleanup(&unverified);
    if (key == NULL || att_jws_verify(jws, strlen(jws), key, ATT_JWS_ES256, &verified) != ATT_OK) {
        return false;
    }
    json_t *payload = json_loadb((const char *)verified.payload.data, verified.payload.len,
                                 JSON_REJECT_DUPLICATES, NULL);
    json_t *seq = json_object_get(payload, "seq");
    const char *hash = json_string_value(json_object_get(payload, "hash"));
    ok = json_is_integer(seq) && json_integer_value(seq) == w->seq && hash != NULL &&
         strcmp(hash, w->hash) == 0;
    json_decref(payload);
    att_jws_cleanup(&verified);
    return ok;
}

static att_err check_row(const struct att_audit_row *r, void *arg)
{
    struct walk *w = arg;
    char want[ATT_AUDIT_HASH_HEX + 1];
    if (r->seq != w->seq + 1) {
        return r->seq > w->seq + 1
                   ? bad(w, r->seq,
                         "record %lld follows record %lld: the records between are missing",
                         (long long)r->seq, (long long)w->seq)
                   : bad(w, r->seq, "record %lld is out of order after record %lld",
                         (long long)r->seq, (long long)w->seq);
    }
    att_audit_chain_hash(w->hash, r->seq, &r->body, want);
    if (strcmp(want, r->hash) != 0) {
        return bad(w, r->seq, "record %lld does not chain to record %lld: one of them was altered",
                   (long long)r->seq, (long long)w->seq);
    }
    if (att_audit_record_check(r) != ATT_OK) {
        return bad(w, r->seq, "record %lld: its columns disagree with its content",
                   (long long)r->seq);
    }
    if (strcmp(r->category, ATT_AUDIT_TRAIL) == 0) {
        json_t *body = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
        json_t *props = json_object_get(body, "properties");
        bool ok = true;
        if (strcmp(r->action, "audit.checkpoint") == 0) {
            ok = checkpoint_ok(w, props);
            if (ok) {
                w->v->checkpoints++;
                w->v->last_checkpoint_seq = w->seq;
            }
        } else if (strcmp(r->action, "audit.pruned") == 0) {
            json_t *through = json_object_get(props, "throughSeq");
            w->prune_recorded = w->prune_recorded || (json_is_integer(through) &&
                                                      json_integer_value(through) == w->pruned_seq);
        }
        json_decref(body);
        if (!ok) {
            return bad(w, r->seq, "record %lld: a checkpoint whose signature or coverage is wrong",
                       (long long)r->seq);
        }
    }
    if (w->head_seq == r->seq) {
        w->head_seen = true;
        if (strcmp(w->head_hash, r->hash) != 0) {
            return bad(w, r->seq, "record %lld is not the record the last checkpoint covered",
                       (long long)r->seq);
        }
    }
    if (w->v->records == 0) {
        w->v->first_seq = r->seq;
    }
    w->v->records++;
    w->v->last_seq = r->seq;
    w->seq = r->seq;
    memcpy(w->hash, r->hash, sizeof(w->hash));
    return ATT_OK;
}

att_err att_audit_verify(struct att_audit_db *db, att_audit_key_fn key, void *key_arg,
                         int64_t head_seq, const char *head_hash, struct att_audit_verdict *verdict)
{
    struct walk w;
    struct att_audit_filter all;
    memset(&w, 0, sizeof(w));
    memset(&all, 0, sizeof(all));
    memset(verdict, 0, sizeof(*verdict));
    verdict->ok = true;
    w.key = key;
    w.key_arg = key_arg;
    w.v = verdict;
    w.head_seq = head_seq;
    w.head_hash = head_hash != NULL ? head_hash : "";
    att_err rc = att_audit_db_pruned(db, &w.pruned_seq, w.hash);
    if (rc == ATT_ERR_AUDIT_CHAIN) {
        snprintf(verdict->problem, sizeof(verdict->problem),
                 "the record of where retention cut the trail is malformed");
        verdict->ok = false;
        return ATT_OK;
    }
    ATT_TRY(rc);
    w.seq = w.pruned_seq;
    verdict->pruned_through = w.pruned_seq;
    rc = att_audit_db_scan(db, &all, check_row, &w);
    if (rc == ATT_ERR_AUDIT_CHAIN && !verdict->ok) {
        return ATT_OK;
    }
    ATT_TRY(rc);
    if (w.pruned_seq > 0 && !w.prune_recorded) {
        bad(&w, w.pruned_seq + 1,
            "the trail starts after record %lld, but no retention record says it was cut there",
            (long long)w.pruned_seq);
    } else if (head_seq > w.pruned_seq && !w.head_seen) {
        bad(&w, w.seq + 1,
            "the trail ends at record %lld, but a checkpoint covered record %lld: records were "
            "removed from its end",
            (long long)w.seq, (long long)head_seq);
    }
    return ATT_OK;
}
