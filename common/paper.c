/*  paper.c: constructors and destructors of the shared data model (see paper.h). */
#include "paper.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *s_state_names[AX_STATE_COUNT] = {
    [AX_STATE_NONE] = "none",
    [AX_STATE_MATCHED] = "matched",
    [AX_STATE_ENRICHED] = "enriched",
    [AX_STATE_BELOW_THRESHOLD] = "below_threshold",
    [AX_STATE_EXCLUDED] = "excluded",
    [AX_STATE_FAILED] = "failed",
};

const char *ax_state_name(ax_state_t state)
{
    if ((int) state < 0 || state >= AX_STATE_COUNT)
        return "none";
    return s_state_names[state];
}

ax_state_t ax_state_from_name(const char *name)
{
    for (int i = 1; i < AX_STATE_COUNT; i++)
        if (name && strcmp(name, s_state_names[i]) == 0)
            return (ax_state_t) i;
    return AX_STATE_NONE;
}

static bool s_ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

const char *ax_paper_problem(const ax_paper_t *p)
{
    if (!p->id || !*p->id)
        return "missing id";
    if (p->submitted <= 0)
        return "no readable submission date";
    return NULL;
}

const char *ax_profile_name_problem(const char *name)
{
    static const char *const reserved[] = {AX_RUN_REPORT_FILE};
    size_t n = name ? strlen(name) : 0;
    bool ok = n >= 1 && n <= 64 && s_ascii_alnum((unsigned char) name[0]);
    for (size_t i = 1; ok && i < n; i++)
        ok = s_ascii_alnum((unsigned char) name[i]) || strchr("_.-", name[i]);
    if (!ok)
        return "must be 1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit";
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (strcmp(name, reserved[i]) == 0)
            return "is the name of a file the run's output folder holds itself";
    return NULL;
}

const char *ax_keyword_problem(const char *term)
{
    bool blank = true;
    for (const unsigned char *p = (const unsigned char *) (term ? term : ""); *p; p++) {
        if (s_ascii_alnum(*p) || *p >= 0x80)
            return NULL;
        blank &= *p == ' ' || (*p >= '\t' && *p <= '\r');
    }
    return blank ? "must not be empty" : "has no letter or digit";
}

void ax_strv_free(char ***v_p, size_t n)
{
    if (!v_p || !*v_p)
        return;
    for (size_t i = 0; i < n; i++)
        free((*v_p)[i]);
    free(*v_p);
    *v_p = NULL;
}

int ax_strv_push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        size_t c = AX_STRV_NEXT_CAP(*cap);
        char **nv = realloc(*v, c * sizeof *nv);
        if (!nv) {
            free(s);
            return -1;
        }
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = s;
    return 0;
}

char **ax_strv_dup(char *const *v, size_t n)
{
    if (n == 0 || !v)
        return NULL;
    char **out = calloc(n, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i] ? v[i] : "");
        if (!out[i]) {
            ax_strv_free(&out, i);
            return NULL;
        }
    }
    return out;
}

/*  strdup that keeps NULL as NULL; sets *failed on OOM. */
static char *s_dup(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

void ax_paper_clear(ax_paper_t *p)
{
    if (!p)
        return;
    free(p->id);
    free(p->title);
    ax_strv_free(&p->authors, p->n_authors);
    ax_strv_free(&p->affiliations, p->n_authors);
    free(p->abstract);
    ax_strv_free(&p->categories, p->n_categories);
    free(p->comments);
    free(p->journal_ref);
    free(p->doi);
    memset(p, 0, sizeof *p);
}

int ax_paper_copy(ax_paper_t *dst, const ax_paper_t *src)
{
    int failed = 0;
    memset(dst, 0, sizeof *dst);
    dst->id = s_dup(src->id, &failed);
    dst->version = src->version;
    dst->title = s_dup(src->title, &failed);
    dst->abstract = s_dup(src->abstract, &failed);
    dst->submitted = src->submitted;
    dst->updated = src->updated;
    dst->comments = s_dup(src->comments, &failed);
    dst->journal_ref = s_dup(src->journal_ref, &failed);
    dst->doi = s_dup(src->doi, &failed);
    if (src->n_authors) {
        dst->authors = ax_strv_dup(src->authors, src->n_authors);
        dst->n_authors = dst->authors ? src->n_authors : 0;
        failed |= !dst->authors;
        if (src->affiliations && dst->authors) {
            dst->affiliations = ax_strv_dup(src->affiliations, src->n_authors);
            failed |= !dst->affiliations;
        }
    }
    if (src->n_categories) {
        dst->categories = ax_strv_dup(src->categories, src->n_categories);
        dst->n_categories = dst->categories ? src->n_categories : 0;
        failed |= !dst->categories;
    }
    if (failed) {
        ax_paper_clear(dst);
        return -1;
    }
    return 0;
}

void ax_profile_clear(ax_profile_t *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->title);
    free(p->language);
    free(p->interest);
    ax_strv_free(&p->categories, p->n_categories);
    for (size_t i = 0; i < p->n_keywords; i++) {
        free(p->keywords[i].term);
        ax_strv_free(&p->keywords[i].aliases, p->keywords[i].n_aliases);
        free(p->keywords[i].company);
    }
    free(p->keywords);
    ax_strv_free(&p->exclude, p->n_exclude);
    memset(p, 0, sizeof *p);
}

int ax_profile_copy(ax_profile_t *dst, const ax_profile_t *src)
{
    int failed = 0;
    memset(dst, 0, sizeof *dst);
    dst->name = s_dup(src->name, &failed);
    dst->title = s_dup(src->title, &failed);
    dst->language = s_dup(src->language, &failed);
    dst->interest = s_dup(src->interest, &failed);
    dst->min_hits = src->min_hits;
    dst->top_n = src->top_n;
    if (src->n_categories) {
        dst->categories = ax_strv_dup(src->categories, src->n_categories);
        dst->n_categories = src->n_categories;
        failed |= !dst->categories;
    }
    if (src->n_exclude) {
        dst->exclude = ax_strv_dup(src->exclude, src->n_exclude);
        dst->n_exclude = src->n_exclude;
        failed |= !dst->exclude;
    }
    if (src->n_keywords) {
        dst->keywords = calloc(src->n_keywords, sizeof *dst->keywords);
        if (!dst->keywords)
            failed = 1;
        else {
            dst->n_keywords = src->n_keywords;
            for (size_t i = 0; i < src->n_keywords; i++) {
                const ax_keyword_t *k = &src->keywords[i];
                dst->keywords[i].term = s_dup(k->term, &failed);
                dst->keywords[i].company = s_dup(k->company, &failed);
                if (k->n_aliases) {
                    dst->keywords[i].aliases = ax_strv_dup(k->aliases, k->n_aliases);
                    dst->keywords[i].n_aliases = k->n_aliases;
                    failed |= !dst->keywords[i].aliases;
                }
            }
        }
    }
    if (failed) {
        ax_profile_clear(dst);
        return -1;
    }
    return 0;
}

void ax_llm_clear(ax_llm_t *l)
{
    if (!l)
        return;
    free(l->title_translated);
    free(l->one_sentence);
    free(l->summary);
    free(l->tldr);
    free(l->motivation);
    free(l->method);
    free(l->result);
    free(l->conclusion);
    free(l->score_reason);
    free(l->company);
    ax_strv_free(&l->tags_top, l->n_tags_top);
    ax_strv_free(&l->tags_detail, l->n_tags_detail);
    free(l->model);
    free(l->prompt_version);
    memset(l, 0, sizeof *l);
}

void ax_verdict_clear(ax_verdict_t *v)
{
    if (!v)
        return;
    free(v->profile);
    free(v->reason);
    ax_strv_free(&v->hits, v->n_hits);
    free(v->company);
    ax_llm_clear(&v->llm);
    memset(v, 0, sizeof *v);
}

void ax_entry_clear(ax_entry_t *e)
{
    if (!e)
        return;
    ax_paper_clear(&e->paper);
    ax_verdict_clear(&e->verdict);
}
