/*  codec.h: msgpack bodies of the AXP/1 protocol (docs/protocol.md section 7).
 *
 *  Encoders append one msgpack map to a msgpack_sbuffer. Decoders take untrusted bytes
 *  from a socket or Redis, check every type, reject truncated or garbage input with a
 *  message in *err (caller frees) and never crash; on success the decoded struct owns
 *  copies of every string.
 */
#ifndef AX_CODEC_H
#define AX_CODEC_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "paper.h"

#define AX_SCHEMA_VERSION 1

typedef struct {
    char *run;              /* run id */
    uint64_t job;           /* job number within the run, 1.. */
    uint32_t attempt;       /* 1 on first dispatch */
    uint32_t lease_ms;
    uint64_t lease;         /* the dispatch's lease token, echoed in WORKING/DONE/FAIL; 0: none */
    ax_profile_t *profiles;
    size_t n_profiles;
    ax_paper_t *papers;
    size_t n_papers;
} ax_job_t;

/*  One paper and its verdict for each profile of the result, in that order. */
typedef struct {
    ax_paper_t paper;
    ax_verdict_t *verdicts;
} ax_item_t;

typedef struct {
    char *run;
    uint64_t job;
    uint32_t attempt;
    char *worker;
    char **profiles;        /* profile names */
    size_t n_profiles;
    ax_item_t *items;
    size_t n_items;
} ax_result_t;

/*  What `arxdigest submit`/`run` asks the broker to do. */
typedef struct {
    char *source;           /* "api", "oai", "rss" or "snapshot:PATH" */
    char **categories;
    size_t n_categories;
    char *from, *to;        /* YYYY-MM-DD or NULL */
    uint32_t job_size;
    char *group_by;
    ax_profile_t *profiles;
    size_t n_profiles;
    char *request;          /* client request id, or NULL: a retry gets the same run */
    uint64_t deadline_ms;   /* wall clock (unix ms) after which no run may be created; 0 = none */
} ax_runspec_t;

/*  Small control bodies: {run, job, credit, reason, worker, state, error, ...}. Fields not
 *  used by a command are 0 / NULL. */
typedef struct {
    char *run;
    uint64_t job;
    uint64_t lease;         /* WORKING/DONE/FAIL: the lease token of the job's JOB; 0: none */
    uint32_t credit;
    uint32_t heartbeat_ms;  /* READY: the sender's heartbeat interval */
    char *reason;
    char *worker;
    char *state;
    char *error;
} ax_ctl_t;

/*  The schema of a body: proto.h's command table says which one each command carries. */
typedef enum { AX_BODY_NONE, AX_BODY_CTL, AX_BODY_JOB, AX_BODY_RESULT, AX_BODY_RUNSPEC } ax_body_kind_t;

/*  A decoded body; the member of its kind is the valid one. */
typedef union {
    ax_ctl_t ctl;
    ax_job_t job;
    ax_result_t result;
    ax_runspec_t spec;
} ax_body_t;

void ax_job_clear(ax_job_t *job);
void ax_item_clear(ax_item_t *item, size_t n_profiles);
void ax_result_clear(ax_result_t *result);
void ax_runspec_clear(ax_runspec_t *spec);
void ax_ctl_clear(ax_ctl_t *ctl);

/*  Pieces, for building bodies and for storage records. */
void ax_pack_paper(msgpack_packer *pk, const ax_paper_t *paper, int full);
void ax_pack_profile(msgpack_packer *pk, const ax_profile_t *profile);
void ax_pack_verdict(msgpack_packer *pk, const ax_verdict_t *verdict);

/*  Job: profiles and papers are given pre-packed (msgpack arrays from ax_pack_profiles and
 *  ax_pack_papers) because the broker sends the same profiles with every job of a run and
 *  keeps a job's papers packed until it is done (re-dispatch re-sends the same bytes). */
void ax_pack_profiles(msgpack_sbuffer *buf, const ax_profile_t *profiles, size_t n);
void ax_pack_papers(msgpack_sbuffer *buf, const ax_paper_t *papers, size_t n);
void ax_job_encode(msgpack_sbuffer *buf, const char *run, uint64_t job, uint32_t attempt,
                   uint32_t lease_ms, uint64_t lease, const msgpack_sbuffer *profiles,
                   const msgpack_sbuffer *papers);
int ax_job_decode(const char *data, size_t len, ax_job_t *job, char **err);

/*  A packed papers array (ax_pack_papers) back into papers; *papers is the caller's
 *  (ax_paper_clear each, then free). */
int ax_papers_decode(const char *data, size_t len, ax_paper_t **papers, size_t *n, char **err);

void ax_result_encode(msgpack_sbuffer *buf, const ax_result_t *result);
int ax_result_decode(const char *data, size_t len, ax_result_t *result, char **err);

/*  Storage record of one (paper, profile) in Redis. */
void ax_entry_encode(msgpack_sbuffer *buf, const ax_paper_t *paper, const ax_verdict_t *verdict);
int ax_entry_decode(const char *data, size_t len, ax_entry_t *entry, char **err);

void ax_runspec_encode(msgpack_sbuffer *buf, const ax_runspec_t *spec);
int ax_runspec_decode(const char *data, size_t len, ax_runspec_t *spec, char **err);

/*  A control body: a field is written when it is set (not 0 / NULL) or named in always
 *  (NULL-terminated, NULL = none), so the keys a command requires are on the wire also
 *  when they are 0. */
void ax_ctl_encode(msgpack_sbuffer *buf, const ax_ctl_t *ctl, const char *const *always);
int ax_ctl_decode(const char *data, size_t len, ax_ctl_t *ctl, char **err);

/*  A body of kind (not AX_BODY_NONE) from the wire: first every key of required
 *  (NULL-terminated, NULL = none) must be in the map and not nil, else -2 with
 *  "KEY: missing" in *err; then the kind's decoder above (-1 with its error). 0 / -1 /
 *  -2; on failure the body is cleared. */
int ax_body_decode(ax_body_kind_t kind, const char *data, size_t len, const char *const *required, ax_body_t *body,
                   char **err);
/*  Frees what a decoded body of kind owns (nothing for AX_BODY_NONE). */
void ax_body_clear(ax_body_kind_t kind, ax_body_t *body);

#endif
