/*  match.c: the profile keyword matcher (SPEC section 3); semantics in match.h.
 *
 *  How it works. Every term, alias and exclude term of every profile becomes one or more
 *  "keys": the pattern ASCII-folded, with its separators (whitespace, '-', '/', '_')
 *  removed, plus the plural/singular variants of its last word. "Cold-Start" gives
 *  "coldstart", "coldstarts"; "query" gives "query", "queries". All keys go into one
 *  trie over byte classes (each distinct byte of the keys is a class, 'A' and 'a' share
 *  one, every other byte is class 0 = no edge), stored as a dense transition table so one
 *  step is one load. Each trie node that ends a key lists the ids it completes: global
 *  keyword ids 0..K-1, then exclude ids K..K+E-1.
 *
 *  A text is scanned once, left to right. A match may only start where a word starts
 *  (the byte before is not a word byte), so the scanner jumps from word start to word
 *  start and walks the trie from each. While walking, word bytes must follow trie edges;
 *  at a non-word byte the current node's ids are marked (the key ended on a word
 *  boundary), a run of separators is skipped without moving in the trie (so "cold start"
 *  and "cold-start" walk like "coldstart"), and the walk goes on if the trie has an edge
 *  for what comes next. Most words leave the trie after one or two bytes, so the cost is
 *  close to one table lookup per byte. Matches overlap freely: "click-through rate" and
 *  "rate" both hit "click-through rate", since "rate" is also a word start.
 *
 *  Terms without ASCII letters/digits or with CJK text ("快手") are searched as plain
 *  (ASCII case-insensitive) substrings instead, one memchr-driven pass each.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* asprintf, vasprintf */
#endif
#include "match.h"

#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Byte kinds of the scanner. */
enum {
    K_PUNCT = 0,    /* ASCII punctuation and controls: end a word, may be a key byte */
    K_WORD,         /* ASCII letter or digit */
    K_LEAD2,        /* lead byte of a 2-byte UTF-8 sequence: a (Latin, Greek...) letter */
    K_CONT,         /* UTF-8 continuation byte: belongs to the character before it */
    K_LEAD3,        /* lead byte of a 3/4-byte sequence (CJK, dashes, quotes): no word */
    K_SEP           /* whitespace, '-', '/', '_': optional between the words of a term */
};

#define S_DEAD 0u   /* trie node without edges */
#define S_ROOT 1u

/* One profile as the matcher keeps it (copies of what judge needs). */
typedef struct {
    char *name;
    char **categories;
    size_t n_categories;
    char *category_reason;      /* "category: not in cs.IR, cs.AI" */
    size_t kw_first, n_kw;      /* global keyword ids [kw_first, kw_first + n_kw) */
    size_t ex_first, n_ex;      /* exclude index [ex_first, ex_first + n_ex) */
    int min_hits;
} s_profile_t;

/* A pattern searched as a plain substring. */
typedef struct {
    char *pat;                  /* ASCII-folded */
    size_t len;                 /* bytes */
    uint32_t id;
} s_sub_t;

/* A key while compiling: bytes of the trie path and the id it completes. */
typedef struct {
    char *s;
    size_t len;
    uint32_t id;
} s_key_t;

typedef struct {
    s_key_t *v;
    size_t n, cap;
} s_keys_t;

struct ax_matcher {
    s_profile_t *profiles;
    size_t n_profiles;
    char **kw_term;             /* per global keyword: its term as written */
    char **kw_company;          /* per global keyword: company or NULL */
    size_t n_keywords;
    char **ex_term;             /* per exclude (all profiles): the term as written */
    size_t n_excludes;
    size_t exclude_base;        /* id of exclude e is exclude_base + e (= all keywords) */
    uint8_t kind[256];          /* K_* of each byte */
    uint8_t word[256];          /* 1 for bytes that continue a word */
    uint8_t punct_start[256];   /* 1 for punctuation some key starts with */
    int punct_starts;           /* punct_start has a 1 */
    uint8_t cls[256];           /* trie class of each byte, 0 = none */
    size_t n_cls;
    uint32_t *trans;            /* [node * n_cls + cls] -> node */
    size_t n_nodes, cap_nodes;
    uint32_t *out_start;        /* ids of node x: out_ids[out_start[x] .. out_start[x+1]) */
    uint32_t *out_ids;
    s_sub_t *subs;
    size_t n_subs;
    unsigned char *marks;       /* scratch: per id (keywords then excludes), 1 = hit */
    size_t n_ids;
};

static uint8_t s_kind_of(unsigned b)
{
    if ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'))
        return K_WORD;
    if (b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v' || b == '-'
        || b == '/' || b == '_')
        return K_SEP;
    if (b >= 0xE0)
        return K_LEAD3;
    if (b >= 0xC0)
        return K_LEAD2;
    if (b >= 0x80)
        return K_CONT;
    return K_PUNCT;
}

static inline uint8_t s_fold(uint8_t b)
{
    return (b >= 'A' && b <= 'Z') ? (uint8_t)(b + 32) : b;
}

/* ---------------------------------------------------------------- compiling keys */

static int s_keys_push(s_keys_t *keys, const char *s, size_t len, uint32_t id)
{
    if (keys->n == keys->cap) {
        size_t cap = keys->cap ? keys->cap * 2 : 64;
        s_key_t *v = realloc(keys->v, cap * sizeof *v);
        if (!v)
            return -1;
        keys->v = v;
        keys->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    keys->v[keys->n++] = (s_key_t){ copy, len, id };
    return 0;
}

static void s_keys_free(s_keys_t *keys)
{
    for (size_t i = 0; i < keys->n; i++)
        free(keys->v[i].s);
    free(keys->v);
    memset(keys, 0, sizeof *keys);
}

static int s_ends(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* 1 when s[0..n) ends in s, x, z, ch or sh: its plural takes -es. */
static int s_sibilant(const char *s, size_t n)
{
    return s_ends(s, n, "s") || s_ends(s, n, "x") || s_ends(s, n, "z") || s_ends(s, n, "ch")
           || s_ends(s, n, "sh");
}

/* Pushes base and its plural (y -> ies after a consonant; +es after s, x, z, ch, sh;
 * else +s). buf has room for len + 3 bytes. */
static int s_push_with_plural(s_keys_t *keys, char *buf, size_t len, uint32_t id)
{
    if (s_keys_push(keys, buf, len, id) < 0)
        return -1;
    size_t n;
    if (len >= 2 && buf[len - 1] == 'y' && !strchr("aeiou", buf[len - 2])) {
        memcpy(buf + len - 1, "ies", 3);
        n = len + 2;
    } else if (s_sibilant(buf, len)) {
        memcpy(buf + len, "es", 2);
        n = len + 2;
    } else {
        buf[len] = 's';
        n = len + 1;
    }
    return s_keys_push(keys, buf, n, id);
}

/* Adds key k (folded, separators removed; its last word is the last lw bytes) and its
 * singular/plural variants. A last word that looks plural (ies, [sxz|ch|sh]es, s but
 * not ss/us/is) adds each singular it may have ("cases" -> "cas", "case") with its
 * plural; otherwise the plural is added. A wrong guess only adds a key no text has. */
static int s_add_variants(s_keys_t *keys, const char *k, size_t len, size_t lw, uint32_t id)
{
    char last = k[len - 1];
    if (lw < 2 || !(last >= 'a' && last <= 'z'))
        return s_keys_push(keys, k, len, id);
    char *buf = malloc(len + 4);
    if (!buf)
        return -1;
    int rc = s_keys_push(keys, k, len, id), singular = 0;
    if (rc == 0 && lw > 4 && s_ends(k, len, "ies")) {
        memcpy(buf, k, len - 3);
        buf[len - 3] = 'y';
        rc = s_push_with_plural(keys, buf, len - 2, id);
        singular = 1;
    }
    if (rc == 0 && lw > 4 && s_ends(k, len, "es") && s_sibilant(k, len - 2)) {
        memcpy(buf, k, len - 2);
        rc = s_push_with_plural(keys, buf, len - 2, id);
        singular = 1;
    }
    if (rc == 0 && lw > 3 && s_ends(k, len, "s") && !s_ends(k, len, "ss")
        && !s_ends(k, len, "us") && !s_ends(k, len, "is")) {
        memcpy(buf, k, len - 1);
        rc = s_push_with_plural(keys, buf, len - 1, id);
        singular = 1;
    }
    if (rc == 0 && !singular) {
        memcpy(buf, k, len);
        rc = s_push_with_plural(keys, buf, len, id);
    }
    free(buf);
    return rc;
}

/* Compiles one pattern (term, alias or exclude term) with id: into keys (word mode) or
 * m->subs (substring mode). what names it in errors. -1 with *err on a bad pattern. */
static int s_add_pattern(ax_matcher_t *m, s_keys_t *keys, const char *pat, uint32_t id,
                         const char *what, char **err)
{
    if (!pat) {
        ax_set_error(err, "%s is missing", what);
        return -1;
    }
    size_t len = strlen(pat);
    while (len && m->kind[(uint8_t)pat[len - 1]] == K_SEP)
        len--;
    while (len && m->kind[(uint8_t)*pat] == K_SEP)
        pat++, len--;
    int alnum = 0, high = 0, cjk = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)pat[i];
        alnum |= m->kind[b] == K_WORD;
        high |= b >= 0x80;
        cjk |= m->kind[b] == K_LEAD3;
    }
    if (len == 0) {
        ax_set_error(err, "%s is empty", what);
        return -1;
    }
    if (!alnum && !high) {
        ax_set_error(err, "%s \"%.*s\" has no letter or digit", what, (int)len, pat);
        return -1;
    }
    char *k = malloc(len + 1);
    if (!k)
        goto oom;
    if (!alnum || cjk) {
        for (size_t i = 0; i < len; i++)
            k[i] = (char)s_fold((uint8_t)pat[i]);
        s_sub_t *subs = realloc(m->subs, (m->n_subs + 1) * sizeof *subs);
        if (!subs) {
            free(k);
            goto oom;
        }
        m->subs = subs;
        m->subs[m->n_subs++] = (s_sub_t){ k, len, id };
        return 0;
    }
    size_t n = 0, lw = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)pat[i];
        if (m->kind[b] == K_SEP) {
            lw = 0;
            continue;
        }
        k[n++] = (char)s_fold(b);
        lw = m->kind[b] == K_PUNCT ? 0 : lw + 1;
    }
    int rc = s_add_variants(keys, k, n, lw, id);
    free(k);
    if (rc < 0)
        goto oom;
    return 0;
oom:
    ax_set_error(err, "out of memory");
    return -1;
}

/* ---------------------------------------------------------------- the trie */

static uint32_t s_node_new(ax_matcher_t *m)
{
    if (m->n_nodes == m->cap_nodes) {
        size_t cap = m->cap_nodes ? m->cap_nodes * 2 : 256;
        if (cap > UINT32_MAX / 2)
            return S_DEAD;
        uint32_t *t = realloc(m->trans, cap * m->n_cls * sizeof *t);
        if (!t)
            return S_DEAD;
        m->trans = t;
        m->cap_nodes = cap;
    }
    memset(m->trans + m->n_nodes * m->n_cls, 0, m->n_cls * sizeof *m->trans);
    return (uint32_t)m->n_nodes++;
}

typedef struct {
    uint32_t node, id;
} s_out_t;

static int s_out_cmp(const void *a, const void *b)
{
    const s_out_t *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return x->id < y->id ? -1 : (x->id > y->id);
}

/* Builds classes, the transition table and the node outputs from all keys. */
static int s_build_trie(ax_matcher_t *m, const s_keys_t *keys)
{
    m->n_cls = 1;
    for (size_t i = 0; i < keys->n; i++)
        for (size_t j = 0; j < keys->v[i].len; j++) {
            uint8_t b = (uint8_t)keys->v[i].s[j];
            if (!m->cls[b])
                m->cls[b] = (uint8_t)m->n_cls++;
        }
    for (unsigned b = 'A'; b <= 'Z'; b++)
        m->cls[b] = m->cls[b + 32];
    if (s_node_new(m) != S_DEAD || s_node_new(m) != S_ROOT)
        return -1;
    s_out_t *outs = malloc((keys->n ? keys->n : 1) * sizeof *outs);
    if (!outs)
        return -1;
    for (size_t i = 0; i < keys->n; i++) {
        uint32_t node = S_ROOT;
        for (size_t j = 0; j < keys->v[i].len; j++) {
            size_t c = m->cls[(uint8_t)keys->v[i].s[j]];
            uint32_t next = m->trans[node * m->n_cls + c];
            if (next == S_DEAD) {
                next = s_node_new(m);
                if (next == S_DEAD) {
                    free(outs);
                    return -1;
                }
                m->trans[node * m->n_cls + c] = next;
            }
            node = next;
        }
        outs[i] = (s_out_t){ node, keys->v[i].id };
    }
    qsort(outs, keys->n, sizeof *outs, s_out_cmp);
    m->out_start = calloc(m->n_nodes + 1, sizeof *m->out_start);
    m->out_ids = malloc((keys->n ? keys->n : 1) * sizeof *m->out_ids);
    if (!m->out_start || !m->out_ids) {
        free(outs);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < keys->n; i++) {
        if (i && outs[i].node == outs[i - 1].node && outs[i].id == outs[i - 1].id)
            continue;
        m->out_ids[n++] = outs[i].id;
        m->out_start[outs[i].node + 1]++;
    }
    for (size_t x = 0; x < m->n_nodes; x++)
        m->out_start[x + 1] += m->out_start[x];
    free(outs);
    const uint32_t *root = m->trans + S_ROOT * m->n_cls;
    for (unsigned b = 0; b < 256; b++) {
        uint8_t k = m->kind[b];
        m->word[b] = k == K_WORD || k == K_LEAD2 || k == K_CONT;
        m->punct_start[b] = k == K_PUNCT && root[m->cls[b]] != S_DEAD;
        m->punct_starts |= m->punct_start[b];
    }
    return 0;
}

/* ---------------------------------------------------------------- new / destroy */

/* Copies profile p's fields judge needs and compiles its patterns. */
static int s_add_profile(ax_matcher_t *m, s_keys_t *keys, const ax_profile_t *p, size_t index,
                         char **err)
{
    s_profile_t *sp = &m->profiles[index];
    char what[512];
    if (!p->name || !*p->name) {
        ax_set_error(err, "profile %zu has no name", index + 1);
        return -1;
    }
    if (p->min_hits < 0) {
        ax_set_error(err, "profile %s: min_hits %d is negative", p->name, p->min_hits);
        return -1;
    }
    if ((p->n_keywords && !p->keywords) || (p->n_exclude && !p->exclude)
        || (p->n_categories && !p->categories)) {
        ax_set_error(err, "profile %s: missing list", p->name);
        return -1;
    }
    sp->min_hits = p->min_hits;
    sp->kw_first = m->n_keywords;
    sp->n_kw = p->n_keywords;
    sp->ex_first = m->n_excludes;
    sp->n_ex = p->n_exclude;
    if (!(sp->name = strdup(p->name)))
        goto oom;
    if (p->n_categories) {
        if (!(sp->categories = ax_strv_dup(p->categories, p->n_categories)))
            goto oom;
        sp->n_categories = p->n_categories;
        size_t n = strlen("category: not in ") + 1;
        for (size_t i = 0; i < p->n_categories; i++)
            n += strlen(sp->categories[i]) + 2;
        if (!(sp->category_reason = malloc(n)))
            goto oom;
        strcpy(sp->category_reason, "category: not in ");
        for (size_t i = 0; i < p->n_categories; i++) {
            if (i)
                strcat(sp->category_reason, ", ");
            strcat(sp->category_reason, sp->categories[i]);
        }
    }
    for (size_t i = 0; i < p->n_keywords; i++) {
        const ax_keyword_t *kw = &p->keywords[i];
        uint32_t id = (uint32_t)m->n_keywords;
        snprintf(what, sizeof what, "profile %s: keyword %zu: term", p->name, i + 1);
        if (s_add_pattern(m, keys, kw->term, id, what, err) < 0)
            return -1;
        for (size_t a = 0; a < kw->n_aliases; a++) {
            snprintf(what, sizeof what, "profile %s: keyword %s: alias %zu", p->name, kw->term,
                     a + 1);
            if (s_add_pattern(m, keys, kw->aliases ? kw->aliases[a] : NULL, id, what, err) < 0)
                return -1;
        }
        if (!(m->kw_term[id] = strdup(kw->term)))
            goto oom;
        if (kw->company && *kw->company && !(m->kw_company[id] = strdup(kw->company)))
            goto oom;
        m->n_keywords++;
    }
    for (size_t i = 0; i < p->n_exclude; i++) {
        snprintf(what, sizeof what, "profile %s: exclude %zu", p->name, i + 1);
        if (s_add_pattern(m, keys, p->exclude[i], (uint32_t)(m->exclude_base + m->n_excludes),
                          what, err) < 0)
            return -1;
        if (!(m->ex_term[m->n_excludes] = strdup(p->exclude[i])))
            goto oom;
        m->n_excludes++;
    }
    return 0;
oom:
    ax_set_error(err, "out of memory");
    return -1;
}

ax_matcher_t *ax_matcher_new(const ax_profile_t *profiles, size_t n_profiles, char **err)
{
    if (err)
        *err = NULL;
    if (n_profiles && !profiles) {
        ax_set_error(err, "no profiles given");
        return NULL;
    }
    ax_matcher_t *m = calloc(1, sizeof *m);
    s_keys_t keys = { 0 };
    if (!m)
        goto oom;
    for (unsigned b = 0; b < 256; b++)
        m->kind[b] = s_kind_of(b);
    size_t n_kw = 0, n_ex = 0;
    for (size_t i = 0; i < n_profiles; i++) {
        n_kw += profiles[i].n_keywords;
        n_ex += profiles[i].n_exclude;
    }
    m->profiles = calloc(n_profiles ? n_profiles : 1, sizeof *m->profiles);
    m->kw_term = calloc(n_kw + 1, sizeof *m->kw_term);
    m->kw_company = calloc(n_kw + 1, sizeof *m->kw_company);
    m->ex_term = calloc(n_ex + 1, sizeof *m->ex_term);
    m->exclude_base = n_kw;
    if (!m->profiles || !m->kw_term || !m->kw_company || !m->ex_term)
        goto oom;
    for (size_t i = 0; i < n_profiles; i++) {
        m->n_profiles = i + 1;
        if (s_add_profile(m, &keys, &profiles[i], i, err) < 0)
            goto fail;
    }
    m->n_ids = m->n_keywords + m->n_excludes;
    if (!(m->marks = calloc(m->n_ids ? m->n_ids : 1, 1)))
        goto oom;
    if (s_build_trie(m, &keys) < 0)
        goto oom;
    s_keys_free(&keys);
    return m;
oom:
    if (err) {
        free(*err);
        *err = strdup("out of memory");
    }
fail:
    s_keys_free(&keys);
    ax_matcher_destroy(&m);
    return NULL;
}

void ax_matcher_destroy(ax_matcher_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ax_matcher_t *m = *self_p;
    for (size_t i = 0; i < m->n_profiles; i++) {
        s_profile_t *sp = &m->profiles[i];
        free(sp->name);
        ax_strv_free(&sp->categories, sp->n_categories);
        free(sp->category_reason);
    }
    free(m->profiles);
    ax_strv_free(&m->kw_term, m->n_keywords + 1);
    ax_strv_free(&m->kw_company, m->n_keywords + 1);
    ax_strv_free(&m->ex_term, m->n_excludes + 1);
    for (size_t i = 0; i < m->n_subs; i++)
        free(m->subs[i].pat);
    free(m->subs);
    free(m->trans);
    free(m->out_start);
    free(m->out_ids);
    free(m->marks);
    free(m);
    *self_p = NULL;
}

size_t ax_matcher_profile_count(const ax_matcher_t *m)
{
    return m ? m->n_profiles : 0;
}

size_t ax_matcher_keyword_count(const ax_matcher_t *m)
{
    return m ? m->n_keywords : 0;
}

/* ---------------------------------------------------------------- scanning */

static inline void s_emit(ax_matcher_t *m, uint32_t node)
{
    for (uint32_t j = m->out_start[node]; j < m->out_start[node + 1]; j++)
        m->marks[m->out_ids[j]] = 1;
}

/* Walks the trie on from node (where the walk's first byte led) with t[i..]: marks the
 * ids of each node reached at a word boundary, skips separator runs in place, stops at
 * the first byte without an edge. */
static void s_walk(ax_matcher_t *m, const uint8_t *t, size_t len, size_t i, uint32_t node)
{
    const uint32_t *tr = m->trans;
    const uint8_t *word = m->word, *kind = m->kind, *cls = m->cls;
    const size_t nc = m->n_cls;
    for (;;) {
        if (i == len) {
            s_emit(m, node);
            return;
        }
        uint8_t b = t[i];
        if (!word[b]) {
            s_emit(m, node);    /* the key so far ends on a word boundary */
            if (kind[b] == K_SEP) {
                do
                    i++;
                while (i < len && kind[t[i]] == K_SEP);
                if (i == len)
                    return;
                b = t[i];
            }
        }
        node = tr[node * nc + cls[b]];
        if (node == S_DEAD)
            return;
        i++;
    }
}

/* ASCII case-insensitive search of the folded pat (plen >= 1) in t. */
static int s_contains(const uint8_t *t, size_t len, const char *pat, size_t plen)
{
    const uint8_t *p = (const uint8_t *)pat;
    if (plen > len)
        return 0;
    const uint8_t *end = t + len - plen + 1, *at = t;
    while (at < end) {
        if (p[0] >= 'a' && p[0] <= 'z') {
            while (at < end && s_fold(*at) != p[0])
                at++;
        } else {
            at = memchr(at, p[0], (size_t)(end - at));
        }
        if (!at || at >= end)
            return 0;
        size_t j = 1;
        while (j < plen && s_fold(at[j]) == p[j])
            j++;
        if (j == plen)
            return 1;
        at++;
    }
    return 0;
}

/* Classifies 64 bytes: *wl = ASCII letters/digits and 2-byte leads (bytes a word can
 * start with), *lead2 = 2-byte leads, *cont = continuation bytes; bit j for p[j]. */
static inline void s_classify64(const uint8_t *p, uint64_t *wl, uint64_t *lead2, uint64_t *cont)
{
#ifdef __SSE2__
    const __m128i a = _mm_set1_epi8('a'), z = _mm_set1_epi8(25), zero = _mm_set1_epi8('0');
    const __m128i nine = _mm_set1_epi8(9), c20 = _mm_set1_epi8(0x20);
    const __m128i e0 = _mm_set1_epi8((char)0xE0), c0 = _mm_set1_epi8((char)0xC0);
    const __m128i c80 = _mm_set1_epi8((char)0x80);
    uint64_t w = 0, l = 0, c = 0;
    for (int q = 0; q < 4; q++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * q));
        __m128i al = _mm_sub_epi8(_mm_or_si128(x, c20), a);
        __m128i dg = _mm_sub_epi8(x, zero);
        __m128i is_al = _mm_cmpeq_epi8(_mm_min_epu8(al, z), al);
        __m128i is_dg = _mm_cmpeq_epi8(_mm_min_epu8(dg, nine), dg);
        __m128i is_l2 = _mm_cmpeq_epi8(_mm_and_si128(x, e0), c0);
        __m128i is_c = _mm_cmpeq_epi8(_mm_and_si128(x, c0), c80);
        uint64_t mw = (uint16_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(is_al, is_dg), is_l2));
        w |= mw << (16 * q);
        l |= (uint64_t)(uint16_t)_mm_movemask_epi8(is_l2) << (16 * q);
        c |= (uint64_t)(uint16_t)_mm_movemask_epi8(is_c) << (16 * q);
    }
    *wl = w;
    *lead2 = l;
    *cont = c;
#else
    uint64_t w = 0, l = 0, c = 0;
    for (int j = 0; j < 64; j++) {
        uint8_t b = p[j];
        int alnum = (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z');
        w |= (uint64_t)(alnum || (b & 0xE0) == 0xC0) << j;
        l |= (uint64_t)((b & 0xE0) == 0xC0) << j;
        c |= (uint64_t)((b & 0xC0) == 0x80) << j;
    }
    *wl = w;
    *lead2 = l;
    *cont = c;
#endif
}

/* Marks the ids of every key found in t[0..len) in m->marks (not cleared here).
 *
 * Two phases per 64 bytes, so that the per-byte work has no branch to mispredict at
 * every word end: bit masks of the byte kinds (SSE2 where available) give the word
 * starts (a word byte after a non-word byte), then the trie is walked from each start
 * whose first bytes have trie edges. A continuation byte is a word byte only after a
 * 2-byte lead, so that "用LLM" (CJK is 3-byte UTF-8) has a word start at "L". Keys that
 * begin with punctuation add those bytes as starts. Walks read past the 64 bytes as
 * they need. */
static void s_scan(ax_matcher_t *m, const uint8_t *t, size_t len)
{
    const uint8_t *cls = m->cls, *word = m->word, *ps = m->punct_start;
    const uint32_t *tr = m->trans;
    const size_t nc = m->n_cls;
    const uint32_t *root = tr + S_ROOT * nc;
    const int punct = m->punct_starts;
    uint64_t carry_word = 0, carry_lead2 = 0;   /* of the byte before this chunk */
    for (size_t base = 0; base < len; base += 64) {
        const uint8_t *p = t + base;
        uint8_t tail[64];
        if (len - base < 64) {
            memcpy(tail, p, len - base);
            memset(tail + (len - base), ' ', 64 - (len - base));
            p = tail;
        }
        uint64_t wl, lead2, cont;
        s_classify64(p, &wl, &lead2, &cont);
        uint64_t w = wl | (cont & ((lead2 << 1) | carry_lead2));
        uint64_t starts = wl & ~((w << 1) | carry_word);
        carry_word = w >> 63;
        carry_lead2 = lead2 >> 63;
        if (punct)
            for (int j = 0; j < 64; j++)
                starts |= (uint64_t)ps[p[j]] << j;
        while (starts) {
            size_t i = base + (size_t)__builtin_ctzll(starts);
            starts &= starts - 1;
            if (i >= len)
                break;
            uint32_t n1 = root[cls[t[i]]];
            if (i + 2 < len) {
                /* branchless filter over the first three bytes (most words leave the
                 * trie within them): walk only if a node is alive at a boundary or
                 * after three bytes. A dead node's row is all S_DEAD. */
                uint8_t b1 = t[i + 1], b2 = t[i + 2];
                uint32_t n2 = tr[n1 * nc + cls[b1]];
                uint32_t n3 = tr[n2 * nc + cls[b2]];
                unsigned need = (n3 != S_DEAD) | ((n1 != S_DEAD) & !word[b1])
                                | ((n2 != S_DEAD) & !word[b2]);
                if (!need)
                    continue;
            }
            if (n1 != S_DEAD)
                s_walk(m, t, len, i + 1, n1);
        }
    }
    for (size_t s = 0; s < m->n_subs; s++)
        if (!m->marks[m->subs[s].id] && s_contains(t, len, m->subs[s].pat, m->subs[s].len))
            m->marks[m->subs[s].id] = 1;
}

size_t ax_matcher_scan(ax_matcher_t *m, const char *text, size_t len, unsigned char *hit)
{
    memset(m->marks, 0, m->n_ids);
    if (text)
        s_scan(m, (const uint8_t *)text, len);
    size_t n = 0;
    for (size_t k = 0; k < m->n_keywords; k++) {
        hit[k] = m->marks[k];
        n += m->marks[k];
    }
    return n;
}

/* ---------------------------------------------------------------- verdicts */

/* 1 when one of the paper's categories is in the profile's ("cs" takes "cs.*"). */
static int s_category_ok(const s_profile_t *sp, const ax_paper_t *paper)
{
    for (size_t i = 0; i < paper->n_categories; i++) {
        const char *c = paper->categories[i];
        if (!c)
            continue;
        for (size_t j = 0; j < sp->n_categories; j++) {
            const char *pc = sp->categories[j];
            size_t n = strlen(pc);
            if (strcasecmp(c, pc) == 0)
                return 1;
            if (!strchr(pc, '.') && strncasecmp(c, pc, n) == 0 && c[n] == '.')
                return 1;
        }
    }
    return 0;
}

/* Sets v->reason to a formatted message. 0 / -1 on OOM. */
static int s_reason(ax_verdict_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_reason(ax_verdict_t *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&v->reason, fmt, ap);
    va_end(ap);
    if (rc < 0) {
        v->reason = NULL;
        return -1;
    }
    return 0;
}

/* Fills v for profile sp from m->marks. 0 / -1 on OOM. */
static int s_judge_profile(ax_matcher_t *m, const s_profile_t *sp, const ax_paper_t *paper,
                           ax_verdict_t *v)
{
    if (!(v->profile = strdup(sp->name)))
        return -1;
    if (sp->n_categories && !s_category_ok(sp, paper)) {
        v->state = AX_STATE_EXCLUDED;
        return (v->reason = strdup(sp->category_reason)) ? 0 : -1;
    }
    size_t n = 0;
    for (size_t k = sp->kw_first; k < sp->kw_first + sp->n_kw; k++)
        n += m->marks[k];
    if (n) {
        if (!(v->hits = calloc(n, sizeof *v->hits)))
            return -1;
        v->n_hits = n;
        size_t h = 0;
        for (size_t k = sp->kw_first; k < sp->kw_first + sp->n_kw; k++)
            if (m->marks[k] && !(v->hits[h++] = strdup(m->kw_term[k])))
                return -1;
    }
    for (size_t e = sp->ex_first; e < sp->ex_first + sp->n_ex; e++)
        if (m->marks[m->exclude_base + e]) {
            v->state = AX_STATE_EXCLUDED;
            return s_reason(v, "exclude: %s", m->ex_term[e]);
        }
    if (n < (size_t)sp->min_hits) {
        v->state = AX_STATE_BELOW_THRESHOLD;
        return s_reason(v, "hits %zu < min_hits %d", n, sp->min_hits);
    }
    v->state = AX_STATE_MATCHED;
    for (size_t k = sp->kw_first; k < sp->kw_first + sp->n_kw; k++)
        if (m->marks[k] && m->kw_company[k])
            return (v->company = strdup(m->kw_company[k])) ? 0 : -1;
    return 0;
}

int ax_matcher_judge(ax_matcher_t *m, const ax_paper_t *paper, ax_verdict_t *verdicts)
{
    memset(m->marks, 0, m->n_ids);
    const char *parts[3] = { paper->title, paper->abstract, paper->comments };
    for (int i = 0; i < 3; i++)
        if (parts[i])
            s_scan(m, (const uint8_t *)parts[i], strlen(parts[i]));
    for (size_t p = 0; p < m->n_profiles; p++)
        if (s_judge_profile(m, &m->profiles[p], paper, &verdicts[p]) < 0)
            return -1;
    return 0;
}
