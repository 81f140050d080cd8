/*  codec.c: msgpack encoding and validating decoding of protocol bodies (see codec.h).
 *
 *  Decoding walks the unpacked object tree with small typed getters (s_get_*): each one
 *  checks the type, copies the value out, and reports the dotted path of the first bad
 *  field, e.g. "papers[3].title: expected string". Unknown keys are ignored.
 */
#define _GNU_SOURCE
#include "codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- encoding */

static void s_pack_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, key, n);
}

static void s_pack_str(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void s_pack_strv(msgpack_packer *pk, char *const *v, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        s_pack_str(pk, v[i]);
}

static void s_pack_kv_str(msgpack_packer *pk, const char *key, const char *value)
{
    s_pack_key(pk, key);
    s_pack_str(pk, value);
}

static void s_pack_kv_uint(msgpack_packer *pk, const char *key, uint64_t value)
{
    s_pack_key(pk, key);
    msgpack_pack_uint64(pk, value);
}

void ax_pack_paper(msgpack_packer *pk, const ax_paper_t *p, int full)
{
    msgpack_pack_map(pk, full ? 12 : 3);
    s_pack_kv_str(pk, "id", p->id);
    s_pack_kv_uint(pk, "ver", (uint64_t) (p->version > 0 ? p->version : 0));
    s_pack_key(pk, "sub");
    msgpack_pack_int64(pk, p->submitted);
    if (!full)
        return;
    s_pack_kv_str(pk, "title", p->title);
    s_pack_key(pk, "authors");
    s_pack_strv(pk, p->authors, p->n_authors);
    s_pack_key(pk, "aff");                  /* nil, or one string per author */
    if (p->affiliations)
        s_pack_strv(pk, p->affiliations, p->n_authors);
    else
        msgpack_pack_nil(pk);
    s_pack_kv_str(pk, "abs", p->abstract);
    s_pack_key(pk, "cats");
    s_pack_strv(pk, p->categories, p->n_categories);
    s_pack_key(pk, "upd");
    msgpack_pack_int64(pk, p->updated);
    s_pack_kv_str(pk, "com", p->comments);
    s_pack_kv_str(pk, "jref", p->journal_ref);
    s_pack_kv_str(pk, "doi", p->doi);
}

void ax_pack_profile(msgpack_packer *pk, const ax_profile_t *p)
{
    msgpack_pack_map(pk, 9);
    s_pack_kv_str(pk, "name", p->name);
    s_pack_kv_str(pk, "title", p->title);
    s_pack_kv_str(pk, "lang", p->language);
    s_pack_kv_str(pk, "interest", p->interest);
    s_pack_key(pk, "cats");
    s_pack_strv(pk, p->categories, p->n_categories);
    s_pack_key(pk, "kw");
    msgpack_pack_array(pk, p->n_keywords);
    for (size_t i = 0; i < p->n_keywords; i++) {
        msgpack_pack_map(pk, 3);
        s_pack_kv_str(pk, "t", p->keywords[i].term);
        s_pack_key(pk, "a");
        s_pack_strv(pk, p->keywords[i].aliases, p->keywords[i].n_aliases);
        s_pack_kv_str(pk, "co", p->keywords[i].company);
    }
    s_pack_key(pk, "ex");
    s_pack_strv(pk, p->exclude, p->n_exclude);
    s_pack_kv_uint(pk, "min", (uint64_t) (p->min_hits > 0 ? p->min_hits : 0));
    s_pack_kv_uint(pk, "top", (uint64_t) (p->top_n > 0 ? p->top_n : 0));
}

static void s_pack_llm(msgpack_packer *pk, const ax_llm_t *l)
{
    msgpack_pack_map(pk, 15);
    s_pack_kv_str(pk, "title_translated", l->title_translated);
    s_pack_kv_str(pk, "one_sentence", l->one_sentence);
    s_pack_kv_str(pk, "summary", l->summary);
    s_pack_kv_str(pk, "tldr", l->tldr);
    s_pack_kv_str(pk, "motivation", l->motivation);
    s_pack_kv_str(pk, "method", l->method);
    s_pack_kv_str(pk, "result", l->result);
    s_pack_kv_str(pk, "conclusion", l->conclusion);
    s_pack_kv_uint(pk, "score", (uint64_t) (l->score > 0 ? l->score : 0));
    s_pack_kv_str(pk, "score_reason", l->score_reason);
    s_pack_kv_str(pk, "company", l->company);
    s_pack_key(pk, "tags_top");
    s_pack_strv(pk, l->tags_top, l->n_tags_top);
    s_pack_key(pk, "tags_detail");
    s_pack_strv(pk, l->tags_detail, l->n_tags_detail);
    s_pack_kv_str(pk, "model", l->model);
    s_pack_kv_str(pk, "prompt_version", l->prompt_version);
}

void ax_pack_verdict(msgpack_packer *pk, const ax_verdict_t *v)
{
    int has_llm = v->state == AX_STATE_ENRICHED || v->llm.score > 0;
    msgpack_pack_map(pk, has_llm ? 5 : 4);
    s_pack_kv_str(pk, "st", ax_state_name(v->state));
    s_pack_kv_str(pk, "why", v->reason);
    s_pack_key(pk, "hits");
    s_pack_strv(pk, v->hits, v->n_hits);
    s_pack_kv_str(pk, "co", v->company);
    if (has_llm) {
        s_pack_key(pk, "llm");
        s_pack_llm(pk, &v->llm);
    }
}

void ax_pack_profiles(msgpack_sbuffer *buf, const ax_profile_t *profiles, size_t n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++)
        ax_pack_profile(&pk, &profiles[i]);
}

void ax_pack_papers(msgpack_sbuffer *buf, const ax_paper_t *papers, size_t n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++)
        ax_pack_paper(&pk, &papers[i], 1);
}

void ax_job_encode(msgpack_sbuffer *buf, const char *run, uint64_t job, uint32_t attempt,
                   uint32_t lease_ms, uint64_t lease, const msgpack_sbuffer *profiles,
                   const msgpack_sbuffer *papers)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 8);
    s_pack_kv_uint(&pk, "v", AX_SCHEMA_VERSION);
    s_pack_kv_str(&pk, "run", run);
    s_pack_kv_uint(&pk, "job", job);
    s_pack_kv_uint(&pk, "attempt", attempt);
    s_pack_kv_uint(&pk, "lease_ms", lease_ms);
    s_pack_kv_uint(&pk, "lease", lease);
    s_pack_key(&pk, "profiles");
    msgpack_sbuffer_write(buf, profiles->data, profiles->size);
    s_pack_key(&pk, "papers");
    msgpack_sbuffer_write(buf, papers->data, papers->size);
}

static int s_verdict_is_kept(const ax_verdict_t *v)
{
    return v->state == AX_STATE_MATCHED || v->state == AX_STATE_ENRICHED;
}

void ax_result_encode(msgpack_sbuffer *buf, const ax_result_t *r)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    s_pack_kv_uint(&pk, "v", AX_SCHEMA_VERSION);
    s_pack_kv_str(&pk, "run", r->run);
    s_pack_kv_uint(&pk, "job", r->job);
    s_pack_kv_uint(&pk, "attempt", r->attempt);
    s_pack_kv_str(&pk, "worker", r->worker);
    s_pack_key(&pk, "profiles");
    s_pack_strv(&pk, r->profiles, r->n_profiles);
    s_pack_key(&pk, "items");
    msgpack_pack_array(&pk, r->n_items);
    for (size_t i = 0; i < r->n_items; i++) {
        const ax_item_t *it = &r->items[i];
        int full = 0;
        for (size_t p = 0; p < r->n_profiles; p++)
            full |= s_verdict_is_kept(&it->verdicts[p]);
        msgpack_pack_map(&pk, 2);
        s_pack_key(&pk, "paper");
        ax_pack_paper(&pk, &it->paper, full);
        s_pack_key(&pk, "verdicts");
        msgpack_pack_array(&pk, r->n_profiles);
        for (size_t p = 0; p < r->n_profiles; p++)
            ax_pack_verdict(&pk, &it->verdicts[p]);
    }
}

void ax_entry_encode(msgpack_sbuffer *buf, const ax_paper_t *paper, const ax_verdict_t *verdict)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    s_pack_kv_uint(&pk, "v", AX_SCHEMA_VERSION);
    s_pack_kv_str(&pk, "profile", verdict->profile);
    s_pack_key(&pk, "paper");
    ax_pack_paper(&pk, paper, 1);
    s_pack_key(&pk, "verdict");
    ax_pack_verdict(&pk, verdict);
}

void ax_runspec_encode(msgpack_sbuffer *buf, const ax_runspec_t *s)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 8 + (size_t) !!s->request + (size_t) !!s->deadline_ms);
    s_pack_kv_uint(&pk, "v", AX_SCHEMA_VERSION);
    if (s->request)
        s_pack_kv_str(&pk, "req", s->request);
    if (s->deadline_ms)
        s_pack_kv_uint(&pk, "deadline", s->deadline_ms);
    s_pack_kv_str(&pk, "source", s->source);
    s_pack_key(&pk, "categories");
    s_pack_strv(&pk, s->categories, s->n_categories);
    s_pack_kv_str(&pk, "from", s->from);
    s_pack_kv_str(&pk, "to", s->to);
    s_pack_kv_uint(&pk, "job_size", s->job_size);
    s_pack_kv_str(&pk, "group_by", s->group_by);
    s_pack_key(&pk, "profiles");
    msgpack_pack_array(&pk, s->n_profiles);
    for (size_t i = 0; i < s->n_profiles; i++)
        ax_pack_profile(&pk, &s->profiles[i]);
}

static int s_named(const char *const *keys, const char *key)
{
    for (; keys && *keys; keys++)
        if (strcmp(*keys, key) == 0)
            return 1;
    return 0;
}

void ax_ctl_encode(msgpack_sbuffer *buf, const ax_ctl_t *c, const char *const *always)
{
    const struct {
        const char *key, *str;      /* a string field: str; else num */
        uint64_t num;
        int is_str;
    } f[] = {{"run", c->run, 0, 1},        {"job", NULL, c->job, 0},         {"lease", NULL, c->lease, 0},
             {"credit", NULL, c->credit, 0}, {"hb", NULL, c->heartbeat_ms, 0}, {"reason", c->reason, 0, 1},
             {"worker", c->worker, 0, 1},  {"state", c->state, 0, 1},        {"error", c->error, 0, 1}};
    int put[sizeof f / sizeof *f];
    size_t n = 1;
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        put[i] = (f[i].is_str ? f[i].str != NULL : f[i].num != 0) || s_named(always, f[i].key);
        n += (size_t) put[i];
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    s_pack_kv_uint(&pk, "v", AX_SCHEMA_VERSION);
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        if (put[i] && f[i].is_str)
            s_pack_kv_str(&pk, f[i].key, f[i].str);
        else if (put[i])
            s_pack_kv_uint(&pk, f[i].key, f[i].num);
    }
}

/* ---------------------------------------------------------------- decoding */

/*  Decoding context: the first error wins and carries its field path. */
typedef struct {
    char *err;
    int missing;                    /* the error is a required key's absence (s_open) */
} s_dec_t;

static int s_fail(s_dec_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(s_dec_t *d, const char *fmt, ...)
{
    if (!d->err) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&d->err, fmt, ap) < 0)
            d->err = NULL;
        va_end(ap);
    }
    return -1;
}

/*  Value of key in a map object, or NULL when absent. */
static const msgpack_object *s_get(const msgpack_object *map, const char *key)
{
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
            memcmp(kv->key.via.str.ptr, key, klen) == 0)
            return &kv->val;
    }
    return NULL;
}

/*  String field: required fails when absent or nil; optional leaves NULL. */
static int s_get_str(s_dec_t *d, const msgpack_object *map, const char *path, const char *key,
                     int required, char **out)
{
    const msgpack_object *o = s_get(map, key);
    *out = NULL;
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return required ? s_fail(d, "%s%s: missing", path, key) : 0;
    if (o->type != MSGPACK_OBJECT_STR)
        return s_fail(d, "%s%s: expected string", path, key);
    if (memchr(o->via.str.ptr, '\0', o->via.str.size))
        return s_fail(d, "%s%s: NUL byte in string", path, key);
    *out = strndup(o->via.str.ptr, o->via.str.size);
    return *out ? 0 : s_fail(d, "out of memory");
}

static int s_get_uint(s_dec_t *d, const msgpack_object *map, const char *path, const char *key,
                      int required, uint64_t max, uint64_t *out)
{
    const msgpack_object *o = s_get(map, key);
    *out = 0;
    if (!o)
        return required ? s_fail(d, "%s%s: missing", path, key) : 0;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_fail(d, "%s%s: expected unsigned integer", path, key);
    if (o->via.u64 > max)
        return s_fail(d, "%s%s: out of range", path, key);
    *out = o->via.u64;
    return 0;
}

static int s_get_int(s_dec_t *d, const msgpack_object *map, const char *path, const char *key,
                     int64_t *out)
{
    const msgpack_object *o = s_get(map, key);
    *out = 0;
    if (!o)
        return 0;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *out = (int64_t) o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = o->via.i64;
    else
        return s_fail(d, "%s%s: expected integer", path, key);
    return 0;
}

static int s_get_strv(s_dec_t *d, const msgpack_object *map, const char *path, const char *key,
                      char ***out, size_t *n)
{
    const msgpack_object *o = s_get(map, key);
    *out = NULL;
    *n = 0;
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return s_fail(d, "%s%s: expected array", path, key);
    if (o->via.array.size == 0)
        return 0;
    char **v = calloc(o->via.array.size, sizeof *v);
    if (!v)
        return s_fail(d, "out of memory");
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_STR || memchr(e->via.str.ptr, '\0', e->via.str.size) ||
            !(v[i] = strndup(e->via.str.ptr, e->via.str.size))) {
            ax_strv_free(&v, i);
            return s_fail(d, "%s%s[%u]: expected string", path, key, i);
        }
    }
    *out = v;
    *n = o->via.array.size;
    return 0;
}

static int s_expect_map(s_dec_t *d, const msgpack_object *o, const char *path)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return s_fail(d, "%s: expected map", path);
    return 0;
}

static int s_expect_array(s_dec_t *d, const msgpack_object *map, const char *key, const msgpack_object **out)
{
    const msgpack_object *o = s_get(map, key);
    if (!o || o->type != MSGPACK_OBJECT_ARRAY)
        return s_fail(d, "%s: expected array", key);
    *out = o;
    return 0;
}

/*  Papers have "aff" (affiliations, parallel to "authors") since it was added; older
 *  bodies without it decode with affiliations NULL. */
static int s_dec_paper(s_dec_t *d, const msgpack_object *o, const char *path, ax_paper_t *p)
{
    uint64_t ver;
    size_t n_aff = 0;
    memset(p, 0, sizeof *p);
    if (s_expect_map(d, o, path) < 0 ||
        s_get_str(d, o, path, "id", 1, &p->id) < 0 ||
        s_get_uint(d, o, path, "ver", 0, 100000, &ver) < 0 ||
        s_get_int(d, o, path, "sub", &p->submitted) < 0 ||
        s_get_int(d, o, path, "upd", &p->updated) < 0 ||
        s_get_str(d, o, path, "title", 0, &p->title) < 0 ||
        s_get_strv(d, o, path, "authors", &p->authors, &p->n_authors) < 0 ||
        s_get_strv(d, o, path, "aff", &p->affiliations, &n_aff) < 0 ||
        (p->affiliations && n_aff != p->n_authors && s_fail(d, "%saff: expected one per author", path) < 0) ||
        s_get_str(d, o, path, "abs", 0, &p->abstract) < 0 ||
        s_get_strv(d, o, path, "cats", &p->categories, &p->n_categories) < 0 ||
        s_get_str(d, o, path, "com", 0, &p->comments) < 0 ||
        s_get_str(d, o, path, "jref", 0, &p->journal_ref) < 0 ||
        s_get_str(d, o, path, "doi", 0, &p->doi) < 0) {
        ax_strv_free(&p->affiliations, n_aff);      /* n_aff may differ from n_authors */
        ax_paper_clear(p);
        return -1;
    }
    p->version = (int) ver;
    return 0;
}

static int s_dec_profile(s_dec_t *d, const msgpack_object *o, const char *path, ax_profile_t *p)
{
    uint64_t min, top;
    const msgpack_object *kw = NULL;
    memset(p, 0, sizeof *p);
    if (s_expect_map(d, o, path) < 0 ||
        s_get_str(d, o, path, "name", 1, &p->name) < 0 ||
        s_get_str(d, o, path, "title", 0, &p->title) < 0 ||
        s_get_str(d, o, path, "lang", 0, &p->language) < 0 ||
        s_get_str(d, o, path, "interest", 0, &p->interest) < 0 ||
        s_get_strv(d, o, path, "cats", &p->categories, &p->n_categories) < 0 ||
        s_get_strv(d, o, path, "ex", &p->exclude, &p->n_exclude) < 0 ||
        s_get_uint(d, o, path, "min", 0, 1000, &min) < 0 ||
        s_get_uint(d, o, path, "top", 0, 1000000, &top) < 0 ||
        s_expect_array(d, o, "kw", &kw) < 0)
        goto fail;
    p->min_hits = (int) min;
    p->top_n = (int) top;
    if (kw->via.array.size) {
        p->keywords = calloc(kw->via.array.size, sizeof *p->keywords);
        if (!p->keywords) {
            s_fail(d, "out of memory");
            goto fail;
        }
    }
    for (uint32_t i = 0; i < kw->via.array.size; i++) {
        const msgpack_object *k = &kw->via.array.ptr[i];
        ax_keyword_t *dst = &p->keywords[i];
        p->n_keywords = i + 1;
        if (s_expect_map(d, k, "profile.kw[]") < 0 ||
            s_get_str(d, k, "profile.kw[].", "t", 1, &dst->term) < 0 ||
            s_get_strv(d, k, "profile.kw[].", "a", &dst->aliases, &dst->n_aliases) < 0 ||
            s_get_str(d, k, "profile.kw[].", "co", 0, &dst->company) < 0)
            goto fail;
    }
    return 0;
fail:
    ax_profile_clear(p);
    return -1;
}

static int s_dec_llm(s_dec_t *d, const msgpack_object *o, ax_llm_t *l)
{
    uint64_t score;
    const char *path = "llm.";
    if (s_expect_map(d, o, "llm") < 0 ||
        s_get_str(d, o, path, "title_translated", 0, &l->title_translated) < 0 ||
        s_get_str(d, o, path, "one_sentence", 0, &l->one_sentence) < 0 ||
        s_get_str(d, o, path, "summary", 0, &l->summary) < 0 ||
        s_get_str(d, o, path, "tldr", 0, &l->tldr) < 0 ||
        s_get_str(d, o, path, "motivation", 0, &l->motivation) < 0 ||
        s_get_str(d, o, path, "method", 0, &l->method) < 0 ||
        s_get_str(d, o, path, "result", 0, &l->result) < 0 ||
        s_get_str(d, o, path, "conclusion", 0, &l->conclusion) < 0 ||
        s_get_uint(d, o, path, "score", 0, 5, &score) < 0 ||
        s_get_str(d, o, path, "score_reason", 0, &l->score_reason) < 0 ||
        s_get_str(d, o, path, "company", 0, &l->company) < 0 ||
        s_get_strv(d, o, path, "tags_top", &l->tags_top, &l->n_tags_top) < 0 ||
        s_get_strv(d, o, path, "tags_detail", &l->tags_detail, &l->n_tags_detail) < 0 ||
        s_get_str(d, o, path, "model", 0, &l->model) < 0 ||
        s_get_str(d, o, path, "prompt_version", 0, &l->prompt_version) < 0) {
        ax_llm_clear(l);
        return -1;
    }
    l->score = (int) score;
    return 0;
}

static int s_dec_verdict(s_dec_t *d, const msgpack_object *o, const char *profile, ax_verdict_t *v)
{
    char *st = NULL;
    memset(v, 0, sizeof *v);
    if (s_expect_map(d, o, "verdict") < 0 ||
        s_get_str(d, o, "verdict.", "st", 1, &st) < 0 ||
        s_get_str(d, o, "verdict.", "why", 0, &v->reason) < 0 ||
        s_get_strv(d, o, "verdict.", "hits", &v->hits, &v->n_hits) < 0 ||
        s_get_str(d, o, "verdict.", "co", 0, &v->company) < 0)
        goto fail;
    v->state = ax_state_from_name(st);
    if (v->state == AX_STATE_NONE) {
        s_fail(d, "verdict.st: unknown state \"%s\"", st);
        goto fail;
    }
    const msgpack_object *llm = s_get(o, "llm");
    if (llm && llm->type != MSGPACK_OBJECT_NIL && s_dec_llm(d, llm, &v->llm) < 0)
        goto fail;
    if (profile && !(v->profile = strdup(profile))) {
        s_fail(d, "out of memory");
        goto fail;
    }
    free(st);
    return 0;
fail:
    free(st);
    ax_verdict_clear(v);
    return -1;
}

/*  Walks the msgpack headers of data without allocating, and checks that every declared
 *  array, map, string and binary fits in the bytes that remain. msgpack-c allocates an
 *  array's slots from its declared count before reading them, so 5 bytes of garbage
 *  declaring 2^32 elements would ask for 64 GiB: such input is refused here first.
 *  -1 for a malformed or cut-short object, -2 for bytes after the first object, else 0. */
static int s_precheck(const unsigned char *p, size_t len)
{
    size_t off = 0;
    uint64_t pending = 1;                   /* objects still to read */
    while (pending > 0) {
        if (off >= len)
            return -1;
        unsigned char b = p[off++];
        uint64_t n = 0, skip = 0, add = 0;
        size_t lenbytes = 0;
        pending--;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            continue;
        if (b >= 0x80 && b <= 0x8f)
            add = 2 * (uint64_t) (b & 0x0f);
        else if (b >= 0x90 && b <= 0x9f)
            add = b & 0x0f;
        else if (b >= 0xa0 && b <= 0xbf)
            skip = b & 0x1f;
        else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break;                  /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;                  /* bin16, str16 */
            case 0xc6: case 0xdb: lenbytes = 4; break;                  /* bin32, str32 */
            case 0xc7: lenbytes = 1; skip = 1; break;                   /* ext8 */
            case 0xc8: lenbytes = 2; skip = 1; break;                   /* ext16 */
            case 0xc9: lenbytes = 4; skip = 1; break;                   /* ext32 */
            case 0xca: case 0xce: case 0xd2: skip = 4; break;
            case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: case 0xde: lenbytes = 2; break;
            case 0xdd: case 0xdf: lenbytes = 4; break;
            default: return -1;                                         /* 0xc1: never used */
            }
            if (lenbytes) {
                if (len - off < lenbytes)
                    return -1;
                for (size_t i = 0; i < lenbytes; i++)
                    n = (n << 8) | p[off + i];
                off += lenbytes;
                if (b == 0xdc || b == 0xdd)
                    add = n;
                else if (b == 0xde || b == 0xdf)
                    add = 2 * n;
                else
                    skip += n;
            }
        }
        if (skip > len - off)
            return -1;
        off += (size_t) skip;
        pending += add;
        if (pending > len - off)             /* every object needs at least one byte */
            return -1;
    }
    return off == len ? 0 : -2;          /* a whole object, then trailing bytes */
}

/*  Unpacks data into *msg and checks it is one map with a known schema version that
 *  holds every key of required (NULL-terminated, NULL = none) with a value other than
 *  nil. The whole buffer must be consumed: trailing bytes are garbage. */
static int s_open(s_dec_t *d, const char *data, size_t len, msgpack_unpacked *msg, const char *const *required)
{
    size_t off = 0;
    msgpack_unpacked_init(msg);
    if (!data || len == 0)
        return s_fail(d, "empty body");
    int pre = s_precheck((const unsigned char *) data, len);
    if (pre == -2)
        return s_fail(d, "trailing bytes after body");
    if (pre < 0)
        return s_fail(d, "truncated or malformed body (%zu bytes)", len);
    msgpack_unpack_return rc = msgpack_unpack_next(msg, data, len, &off);
    if (rc == MSGPACK_UNPACK_CONTINUE)
        return s_fail(d, "truncated body (%zu bytes)", len);
    if (rc != MSGPACK_UNPACK_SUCCESS)
        return s_fail(d, "body is not msgpack");
    if (off != len)
        return s_fail(d, "%zu trailing bytes after body", len - off);
    if (msg->data.type != MSGPACK_OBJECT_MAP)
        return s_fail(d, "body is not a map");
    uint64_t v;
    if (s_get_uint(d, &msg->data, "", "v", 1, UINT32_MAX, &v) < 0)
        return -1;
    if (v == 0 || v > AX_SCHEMA_VERSION)
        return s_fail(d, "unsupported schema version %llu (this build knows %d)",
                      (unsigned long long) v, AX_SCHEMA_VERSION);
    for (; required && *required; required++) {
        const msgpack_object *o = s_get(&msg->data, *required);
        if (!o || o->type == MSGPACK_OBJECT_NIL) {
            d->missing = 1;
            return s_fail(d, "%s: missing", *required);
        }
    }
    return 0;
}

static int s_close(s_dec_t *d, msgpack_unpacked *msg, int rc, char **err)
{
    msgpack_unpacked_destroy(msg);
    if (rc < 0 && !d->err)
        s_fail(d, "invalid body");
    if (err)
        *err = d->err;
    else
        free(d->err);
    return rc < 0 ? (d->missing ? -2 : -1) : 0;
}

static int s_job_decode(const char *data, size_t len, const char *const *required, ax_job_t *job, char **err)
{
    s_dec_t d = {0};
    msgpack_unpacked msg;
    const msgpack_object *profiles = NULL, *papers = NULL;
    uint64_t u = 0;
    memset(job, 0, sizeof *job);
    int rc = s_open(&d, data, len, &msg, required);
    const msgpack_object *m = &msg.data;
    if (rc == 0)
        rc = s_get_str(&d, m, "", "run", 1, &job->run);
    if (rc == 0 && (rc = s_get_uint(&d, m, "", "job", 1, UINT64_MAX, &job->job)) == 0)
        rc = s_get_uint(&d, m, "", "attempt", 1, UINT32_MAX, &u);
    job->attempt = (uint32_t) u;
    if (rc == 0 && (rc = s_get_uint(&d, m, "", "lease_ms", 0, UINT32_MAX, &u)) == 0)
        job->lease_ms = (uint32_t) u;
    if (rc == 0)
        rc = s_get_uint(&d, m, "", "lease", 0, UINT64_MAX, &job->lease);
    if (rc == 0)
        rc = s_expect_array(&d, m, "profiles", &profiles);
    if (rc == 0)
        rc = s_expect_array(&d, m, "papers", &papers);
    if (rc == 0 && profiles->via.array.size &&
        !(job->profiles = calloc(profiles->via.array.size, sizeof *job->profiles)))
        rc = s_fail(&d, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < profiles->via.array.size; i++) {
        rc = s_dec_profile(&d, &profiles->via.array.ptr[i], "profiles[]", &job->profiles[i]);
        if (rc == 0)
            job->n_profiles = i + 1;
    }
    if (rc == 0 && papers->via.array.size &&
        !(job->papers = calloc(papers->via.array.size, sizeof *job->papers)))
        rc = s_fail(&d, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < papers->via.array.size; i++) {
        rc = s_dec_paper(&d, &papers->via.array.ptr[i], "papers[].", &job->papers[i]);
        if (rc == 0)
            job->n_papers = i + 1;
    }
    if (rc < 0)
        ax_job_clear(job);
    return s_close(&d, &msg, rc, err);
}

int ax_papers_decode(const char *data, size_t len, ax_paper_t **papers, size_t *n, char **err)
{
    s_dec_t d = {0};
    msgpack_unpacked msg;
    size_t off = 0;
    int rc = 0;
    *papers = NULL;
    *n = 0;
    msgpack_unpacked_init(&msg);
    if (!data || s_precheck((const unsigned char *) data, len) != 0 ||
        msgpack_unpack_next(&msg, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        msg.data.type != MSGPACK_OBJECT_ARRAY)
        rc = s_fail(&d, "papers: not a msgpack array");
    uint32_t count = rc == 0 ? msg.data.via.array.size : 0;
    if (rc == 0 && !(*papers = calloc(count + 1, sizeof **papers)))
        rc = s_fail(&d, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rc = s_dec_paper(&d, &msg.data.via.array.ptr[i], "papers[].", &(*papers)[i]);
        if (rc == 0)
            *n = i + 1;
    }
    if (rc < 0 && *papers) {
        for (size_t i = 0; i < *n; i++)
            ax_paper_clear(&(*papers)[i]);
        free(*papers);
        *papers = NULL;
        *n = 0;
    }
    return s_close(&d, &msg, rc, err);
}

static int s_result_decode(const char *data, size_t len, const char *const *required, ax_result_t *r, char **err)
{
    s_dec_t d = {0};
    msgpack_unpacked msg;
    const msgpack_object *items = NULL;
    uint64_t u = 0;
    memset(r, 0, sizeof *r);
    int rc = s_open(&d, data, len, &msg, required);
    const msgpack_object *m = &msg.data;
    if (rc == 0)
        rc = s_get_str(&d, m, "", "run", 1, &r->run);
    if (rc == 0 && (rc = s_get_uint(&d, m, "", "job", 1, UINT64_MAX, &r->job)) == 0)
        rc = s_get_uint(&d, m, "", "attempt", 0, UINT32_MAX, &u);
    r->attempt = (uint32_t) u;
    if (rc == 0)
        rc = s_get_str(&d, m, "", "worker", 0, &r->worker);
    if (rc == 0)
        rc = s_get_strv(&d, m, "", "profiles", &r->profiles, &r->n_profiles);
    if (rc == 0)
        rc = s_expect_array(&d, m, "items", &items);
    if (rc == 0 && items->via.array.size &&
        !(r->items = calloc(items->via.array.size, sizeof *r->items)))
        rc = s_fail(&d, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < items->via.array.size; i++) {
        const msgpack_object *it = &items->via.array.ptr[i], *vs = NULL;
        ax_item_t *dst = &r->items[i];
        if ((rc = s_expect_map(&d, it, "items[]")) < 0 ||
            (rc = s_dec_paper(&d, s_get(it, "paper"), "items[].paper.", &dst->paper)) < 0)
            break;
        r->n_items = i + 1;
        if ((rc = s_expect_array(&d, it, "verdicts", &vs)) < 0)
            break;
        if (vs->via.array.size != r->n_profiles) {
            rc = s_fail(&d, "items[%u].verdicts: %u verdicts for %zu profiles", i,
                        vs->via.array.size, r->n_profiles);
            break;
        }
        if (r->n_profiles && !(dst->verdicts = calloc(r->n_profiles, sizeof *dst->verdicts))) {
            rc = s_fail(&d, "out of memory");
            break;
        }
        for (size_t p = 0; rc == 0 && p < r->n_profiles; p++)
            rc = s_dec_verdict(&d, &vs->via.array.ptr[p], r->profiles[p], &dst->verdicts[p]);
    }
    if (rc < 0)
        ax_result_clear(r);
    return s_close(&d, &msg, rc, err);
}

int ax_entry_decode(const char *data, size_t len, ax_entry_t *e, char **err)
{
    s_dec_t d = {0};
    msgpack_unpacked msg;
    char *profile = NULL;
    memset(e, 0, sizeof *e);
    int rc = s_open(&d, data, len, &msg, NULL);
    if (rc == 0)
        rc = s_get_str(&d, &msg.data, "", "profile", 1, &profile);
    if (rc == 0)
        rc = s_dec_paper(&d, s_get(&msg.data, "paper"), "paper.", &e->paper);
    if (rc == 0)
        rc = s_dec_verdict(&d, s_get(&msg.data, "verdict"), profile, &e->verdict);
    free(profile);
    if (rc < 0)
        ax_entry_clear(e);
    return s_close(&d, &msg, rc, err);
}

static int s_runspec_decode(const char *data, size_t len, const char *const *required, ax_runspec_t *s, char **err)
{
    s_dec_t d = {0};
    msgpack_unpacked msg;
    const msgpack_object *profiles = NULL;
    uint64_t u = 0;
    memset(s, 0, sizeof *s);
    int rc = s_open(&d, data, len, &msg, required);
    const msgpack_object *m = &msg.data;
    if (rc == 0)
        rc = s_get_str(&d, m, "", "source", 1, &s->source);
    if (rc == 0)
        rc = s_get_strv(&d, m, "", "categories", &s->categories, &s->n_categories);
    if (rc == 0)
        rc = s_get_str(&d, m, "", "from", 0, &s->from);
    if (rc == 0)
        rc = s_get_str(&d, m, "", "to", 0, &s->to);
    if (rc == 0)
        rc = s_get_uint(&d, m, "", "job_size", 1, 100000, &u);
    s->job_size = (uint32_t) u;
    if (rc == 0)
        rc = s_get_str(&d, m, "", "group_by", 0, &s->group_by);
    if (rc == 0)
        rc = s_get_str(&d, m, "", "req", 0, &s->request);
    if (rc == 0)
        rc = s_get_uint(&d, m, "", "deadline", 0, UINT64_MAX, &s->deadline_ms);
    if (rc == 0)
        rc = s_expect_array(&d, m, "profiles", &profiles);
    if (rc == 0 && profiles->via.array.size &&
        !(s->profiles = calloc(profiles->via.array.size, sizeof *s->profiles)))
        rc = s_fail(&d, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < profiles->via.array.size; i++) {
        rc = s_dec_profile(&d, &profiles->via.array.ptr[i], "profiles[]", &s->profiles[i]);
        if (rc == 0)
            s->n_profiles = i + 1;
    }
    if (rc < 0)
        ax_runspec_clear(s);
    return s_close(&d, &msg, rc, err);
}

static int s_ctl_decode(const char *data, size_t len, const char *const *required, ax_ctl_t *c, char **err)
{
    s_dec_t d = {0};
    msgpack_unpacked msg;
    uint64_t credit = 0, hb = 0;
    memset(c, 0, sizeof *c);
    int rc = s_open(&d, data, len, &msg, required);
    const msgpack_object *m = &msg.data;
    if (rc == 0 &&
        (s_get_str(&d, m, "", "run", 0, &c->run) < 0 ||
         s_get_uint(&d, m, "", "job", 0, UINT64_MAX, &c->job) < 0 ||
         s_get_uint(&d, m, "", "lease", 0, UINT64_MAX, &c->lease) < 0 ||
         s_get_uint(&d, m, "", "credit", 0, 1000000, &credit) < 0 ||
         s_get_uint(&d, m, "", "hb", 0, 3600000, &hb) < 0 ||
         s_get_str(&d, m, "", "reason", 0, &c->reason) < 0 ||
         s_get_str(&d, m, "", "worker", 0, &c->worker) < 0 ||
         s_get_str(&d, m, "", "state", 0, &c->state) < 0 ||
         s_get_str(&d, m, "", "error", 0, &c->error) < 0))
        rc = -1;
    c->credit = (uint32_t) credit;
    c->heartbeat_ms = (uint32_t) hb;
    if (rc < 0)
        ax_ctl_clear(c);
    return s_close(&d, &msg, rc, err);
}

int ax_job_decode(const char *data, size_t len, ax_job_t *job, char **err)
{
    return s_job_decode(data, len, NULL, job, err);
}

int ax_result_decode(const char *data, size_t len, ax_result_t *result, char **err)
{
    return s_result_decode(data, len, NULL, result, err);
}

int ax_runspec_decode(const char *data, size_t len, ax_runspec_t *spec, char **err)
{
    return s_runspec_decode(data, len, NULL, spec, err);
}

int ax_ctl_decode(const char *data, size_t len, ax_ctl_t *ctl, char **err)
{
    return s_ctl_decode(data, len, NULL, ctl, err);
}

int ax_body_decode(ax_body_kind_t kind, const char *data, size_t len, const char *const *required, ax_body_t *body,
                   char **err)
{
    memset(body, 0, sizeof *body);
    switch (kind) {
    case AX_BODY_CTL:
        return s_ctl_decode(data, len, required, &body->ctl, err);
    case AX_BODY_JOB:
        return s_job_decode(data, len, required, &body->job, err);
    case AX_BODY_RESULT:
        return s_result_decode(data, len, required, &body->result, err);
    case AX_BODY_RUNSPEC:
        return s_runspec_decode(data, len, required, &body->spec, err);
    case AX_BODY_NONE:
        break;
    }
    if (err)
        *err = strdup("this command has no body");
    return -1;
}

/* ---------------------------------------------------------------- destructors */

void ax_body_clear(ax_body_kind_t kind, ax_body_t *body)
{
    switch (kind) {
    case AX_BODY_CTL:
        ax_ctl_clear(&body->ctl);
        break;
    case AX_BODY_JOB:
        ax_job_clear(&body->job);
        break;
    case AX_BODY_RESULT:
        ax_result_clear(&body->result);
        break;
    case AX_BODY_RUNSPEC:
        ax_runspec_clear(&body->spec);
        break;
    case AX_BODY_NONE:
        break;
    }
}

void ax_job_clear(ax_job_t *job)
{
    if (!job)
        return;
    free(job->run);
    for (size_t i = 0; i < job->n_profiles; i++)
        ax_profile_clear(&job->profiles[i]);
    free(job->profiles);
    for (size_t i = 0; i < job->n_papers; i++)
        ax_paper_clear(&job->papers[i]);
    free(job->papers);
    memset(job, 0, sizeof *job);
}

void ax_item_clear(ax_item_t *item, size_t n_profiles)
{
    ax_paper_clear(&item->paper);
    if (item->verdicts)
        for (size_t p = 0; p < n_profiles; p++)
            ax_verdict_clear(&item->verdicts[p]);
    free(item->verdicts);
    item->verdicts = NULL;
}

void ax_result_clear(ax_result_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_items; i++)
        ax_item_clear(&r->items[i], r->n_profiles);
    free(r->items);
    free(r->run);
    free(r->worker);
    ax_strv_free(&r->profiles, r->n_profiles);
    memset(r, 0, sizeof *r);
}

void ax_runspec_clear(ax_runspec_t *s)
{
    if (!s)
        return;
    free(s->source);
    ax_strv_free(&s->categories, s->n_categories);
    free(s->from);
    free(s->to);
    free(s->group_by);
    free(s->request);
    for (size_t i = 0; i < s->n_profiles; i++)
        ax_profile_clear(&s->profiles[i]);
    free(s->profiles);
    memset(s, 0, sizeof *s);
}

void ax_ctl_clear(ax_ctl_t *c)
{
    if (!c)
        return;
    free(c->run);
    free(c->reason);
    free(c->worker);
    free(c->state);
    free(c->error);
    memset(c, 0, sizeof *c);
}
