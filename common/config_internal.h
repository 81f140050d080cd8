/*  config_internal.h: what config.c and config_yaml.c share. Private to config*.c:
 *  nothing else includes it, and config.h stays the only public interface.
 *
 *  The configuration is described by tables of fields (ax_cfg_field_t): the config
 *  keys (dotted names, "broker.job_size"), the fields of a profile and those of a
 *  keyword. config.c owns the tables and the one path that parses, checks and stores
 *  a value from text (defaults, environment, flags, YAML scalars), the checks of
 *  stored values and the error report. config_yaml.c walks a YAML document and feeds
 *  its nodes through that same path, so every layer applies the same rules.
 */
#ifndef AX_CONFIG_INTERNAL_H
#define AX_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*  What a field holds. Lists are char ** with a size_t count beside them; records
 *  (keywords, profiles) are an array of structs with a count. */
typedef enum { T_STR, T_INT, T_DOUBLE, T_BOOL, T_LIST, T_KEYWORDS, T_PROFILES } ax_cfg_type_t;

/*  The check a string value (or each list item) must pass; see ax_cfg_problem. */
typedef enum {
    C_ANY, C_NONEMPTY, C_ENDPOINT, C_REDIS, C_METRICS, C_HTTP, C_GROUP_BY,
    C_SOURCE, C_DATE, C_ENVNAME, C_CATEGORY, C_NAME, C_LANGUAGE, C_RESPONSE_FORMAT, C_ANNOUNCE, C_TERM,
    C_NAMESPACE
} ax_cfg_check_t;

#define F_NULLABLE 1            /* may be NULL (unset): YAML null or "" */
#define F_SECRET 2              /* the value is never echoed in messages */

/*  One key of the config or one field of a record. */
typedef struct {
    const char *name;           /* key: dotted for config keys, plain for records */
    ax_cfg_type_t type;
    size_t off;                 /* of the value in its struct */
    size_t count_off;           /* lists, records: of the size_t count */
    double min, max;            /* T_INT, T_DOUBLE: inclusive range */
    ax_cfg_check_t check;       /* T_STR value, T_LIST items */
    int flags;                  /* F_NULLABLE | F_SECRET */
    const char *dflt;           /* default as text; NULL = none */
} ax_cfg_field_t;

/*  A kind of record that a T_PROFILES or T_KEYWORDS field holds an array of. */
typedef struct {
    const ax_cfg_field_t *fields;   /* at most 32: problems are kept as a bit mask */
    size_t n_fields;
    size_t size;                /* bytes of one record */
    void (*clear)(void *rec);   /* frees its members and zeroes it */
} ax_cfg_record_t;

extern const ax_cfg_field_t ax_cfg_keys[];      /* the config keys, in config.h's order */
extern const size_t ax_cfg_n_keys;
extern const ax_cfg_record_t ax_cfg_profile_record;     /* of ax_profile_t */
extern const ax_cfg_record_t ax_cfg_keyword_record;     /* of ax_keyword_t */

/*  The value (AX_CFG_AT) or the count (AX_CFG_COUNT_AT) of field f in the struct at base. */
#define AX_CFG_AT(base, f, T) ((T *) (void *) ((char *) (base) + (f)->off))
#define AX_CFG_COUNT_AT(base, f) ((size_t *) (void *) ((char *) (base) + (f)->count_off))

/*  Bytes of a formatted dotted key name ("profiles[2].keywords[0].term"). */
#define AX_CFG_KEYLEN 256

/*  Where problems go, and what to put in front of each line. */
typedef struct {
    char **errors;              /* '\n'-separated lines, may be NULL */
    const char *file;           /* "<file>:<line>: " prefix, or NULL */
    const char *env;            /* "<VAR>: " prefix (values never echoed), or NULL */
    int count;                  /* problems reported */
} ax_cfg_err_t;

/*  Appends "<file>:<line>: <key>: <message>" as one line to e->errors and counts it
 *  (the count makes the caller fail even when there is no text or no memory). */
__attribute__((format(printf, 4, 5)))
void ax_cfg_report(ax_cfg_err_t *e, int line, const char *key, const char *fmt, ...);

/*  Formats a dotted key name into buf[AX_CFG_KEYLEN]; absurdly deep names are cut. */
__attribute__((format(printf, 2, 3)))
void ax_cfg_keyf(char *buf, const char *fmt, ...);

/*  Reports key as an unknown `what` ("key", "variable"), suggesting the closest of
 *  the n candidates when word is close enough to be a typo of it. */
void ax_cfg_unknown(ax_cfg_err_t *e, int line, const char *key, const char *word, const char *const *cand,
                    size_t n, const char *what);

/*  Why v fails check ("must be a date YYYY-MM-DD"), or NULL when it passes. */
const char *ax_cfg_problem(ax_cfg_check_t check, const char *v);

/*  Parses text for field f of base, checks it and stores a copy (lists: comma-
 *  separated). text NULL is YAML null. dir, when given, anchors a relative
 *  snapshot:PATH. A bad value is reported under key at line, not stored: -1. */
int ax_cfg_store(void *base, const ax_cfg_field_t *f, const char *text, ax_cfg_err_t *e, const char *key,
                 int line, const char *dir);

/*  Replaces the list f of base with items (taken), freeing the old one. */
void ax_cfg_set_list(void *base, const ax_cfg_field_t *f, char **items, size_t n);

/*  Stores the defaults of n fields into base (zeroed). -1 on OOM. */
int ax_cfg_defaults(void *base, const ax_cfg_field_t *fields, size_t n);

/*  Clears the n records of kind r at *recs_p, frees the array and NULLs it. */
void ax_cfg_records_free(const ax_cfg_record_t *r, void **recs_p, size_t n);

/*  Checks every field of a record (a profile or a keyword) not in the failed mask,
 *  with lines[i] (or line) as the line of field i. deep also checks the keywords. */
void ax_cfg_check_record(ax_cfg_err_t *e, const void *base, const ax_cfg_field_t *fields, size_t n,
                         uint32_t failed, const char *prefix, const int *lines, int line, bool deep);

/*  The rules that span fields of profiles[i]: a unique name, at least one keyword,
 *  min_hits reachable. Fields in failed were already reported and are skipped. */
void ax_cfg_profile_rules(ax_cfg_err_t *e, const ax_profile_t *profiles, size_t i, uint32_t failed,
                          const int *lines, int line);

#endif
