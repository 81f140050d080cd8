/*  config_yaml.c: reads a YAML config file into an ax_config_t (ax_config_load_file).
 *
 *  The file is loaded with libyaml's document API and walked against the tables of
 *  config_internal.h: a mapping is looked up key by key (a dotted prefix such as
 *  "llm.price_per_mtok" is a section mapping), a scalar goes through ax_cfg_store,
 *  the one path every layer uses, and lists of profiles and keywords become records
 *  that get their defaults, their fields, then their checks. Every problem is
 *  reported with its dotted key and file:line; a record with any problem is left out
 *  and a bad value is never stored, so the previous value stays.
 *
 *  A config is small: a file over 1 MiB, or nested deeper than 64 lists and mappings, is
 *  refused before the document is built (libyaml takes time quadratic in the depth: 100 000
 *  nested `[` took it half a minute).
 */
#define _GNU_SOURCE
#include "config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define S_MAX_BYTES (1u << 20)      /* bytes of a config file */
#define S_MAX_DEPTH 64              /* lists and mappings nested in one another */

/*  One file being read. */
typedef struct {
    ax_config_t *cfg;           /* what the file is merged into */
    yaml_document_t *doc;       /* its (single) document */
    ax_cfg_err_t err;           /* problems, prefixed with the file's name */
    const char *dir;            /* folder of the file, for snapshot:PATH */
} s_ctx_t;

/*  The 1-based line a node starts on; 0 for none. */
static int s_line(const yaml_node_t *node)
{
    return node ? (int) node->start_mark.line + 1 : 0;
}

/*  A plain (unquoted) YAML null: "", ~, null, Null or NULL. */
static bool s_is_null(const yaml_node_t *node)
{
    if (!node || node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *) node->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/*  What a node is, for "expected X, not Y" messages. */
static const char *s_kind(const yaml_node_t *node)
{
    return node->type == YAML_SEQUENCE_NODE  ? "a list"
           : node->type == YAML_MAPPING_NODE ? "a mapping"
           : s_is_null(node)                 ? "null"
                                             : "a single value";
}

static yaml_node_t *s_node(s_ctx_t *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

static size_t s_items(const yaml_node_t *seq)
{
    return (size_t) (seq->data.sequence.items.top - seq->data.sequence.items.start);
}

/*  The text of a scalar node; NULL for YAML null and, reported, for anything else
 *  that is not a usable string. */
static const char *s_text(s_ctx_t *c, yaml_node_t *node, const char *key, bool *bad)
{
    *bad = node->type != YAML_SCALAR_NODE;
    if (*bad)
        ax_cfg_report(&c->err, s_line(node), key, "expected a single value, not %s", s_kind(node));
    else if (strlen((const char *) node->data.scalar.value) != node->data.scalar.length) {
        ax_cfg_report(&c->err, s_line(node), key, "contains a NUL character");
        *bad = true;
    }
    return *bad || s_is_null(node) ? NULL : (const char *) node->data.scalar.value;
}

/*  A YAML list into the list field f of base: each item a string that passes f's
 *  check. Null is the empty list. On any problem the old value stays. */
static void s_read_list(s_ctx_t *c, void *base, const ax_cfg_field_t *f, yaml_node_t *node, const char *key)
{
    if (s_is_null(node) || node->type != YAML_SEQUENCE_NODE) {
        if (s_is_null(node))
            ax_cfg_set_list(base, f, NULL, 0);
        else
            ax_cfg_report(&c->err, s_line(node), key, "expected a list, like [a, b], not %s", s_kind(node));
        return;
    }
    size_t count = s_items(node), got = 0;
    char **items = calloc(count + 1, sizeof *items);
    int before = c->err.count;
    for (size_t i = 0; items && i < count; i++) {
        char ikey[AX_CFG_KEYLEN];
        bool bad;
        yaml_node_t *item = s_node(c, node->data.sequence.items.start[i]);
        ax_cfg_keyf(ikey, "%s[%zu]", key, i);
        const char *t = s_text(c, item, ikey, &bad);
        const char *why = bad ? NULL : t ? ax_cfg_problem(f->check, t) : "must not be null";
        if (why)
            ax_cfg_report(&c->err, s_line(item), ikey, "%s", why);
        else if (t && !(items[got++] = strdup(t)))
            ax_cfg_report(&c->err, s_line(item), ikey, "out of memory");
    }
    if (!items)
        ax_cfg_report(&c->err, s_line(node), key, "out of memory");
    if (c->err.count != before)
        ax_strv_free(&items, got);
    else
        ax_cfg_set_list(base, f, items, got);
}

static uint32_t s_read_map(s_ctx_t *c, void *base, const ax_cfg_field_t *fields, size_t n, yaml_node_t *map,
                           const char *shown, const char *lookup, int *lines);

/*  "ArXiv cs.IR, cs.LG digest" from the profile's categories. */
static char *s_default_title(const ax_profile_t *p)
{
    size_t len = 16;
    for (size_t i = 0; i < p->n_categories; i++)
        len += strlen(p->categories[i]) + 2;
    char *t = malloc(len);
    if (!t)
        return NULL;
    strcpy(t, "ArXiv");
    for (size_t i = 0; i < p->n_categories; i++)
        strcat(strcat(t, i ? ", " : " "), p->categories[i]);
    return strcat(t, " digest");
}

/*  A YAML list of records (profiles or keywords) into the field f of base, replacing
 *  what was there. Each record gets its defaults, its fields, then its checks; one
 *  with any problem is reported and left out. A keyword may also be a plain term. */
static void s_read_records(s_ctx_t *c, void *base, const ax_cfg_field_t *f, yaml_node_t *node,
                           const char *key)
{
    bool profiles = f->type == T_PROFILES;
    const ax_cfg_record_t *r = profiles ? &ax_cfg_profile_record : &ax_cfg_keyword_record;
    const ax_cfg_field_t *fields = r->fields;
    size_t nf = r->n_fields, size = r->size;
    if (node->type != YAML_SEQUENCE_NODE) {
        ax_cfg_report(&c->err, s_line(node), key, "expected a list of %s, not %s",
                      profiles ? "profiles" : "terms or {term, aliases, company}", s_kind(node));
        return;
    }
    size_t count = s_items(node), kept = 0;
    char *recs = calloc(count + 1, size);
    bool *bad = calloc(count + 1, sizeof *bad);
    if (!recs || !bad) {
        ax_cfg_report(&c->err, s_line(node), key, "out of memory");
        free(recs);
        free(bad);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = s_node(c, node->data.sequence.items.start[i]);
        char ikey[AX_CFG_KEYLEN], tkey[AX_CFG_KEYLEN];
        int lines[16] = {0}, before = c->err.count;
        uint32_t failed = 0;
        void *rec = recs + i * size;
        bool map = item->type == YAML_MAPPING_NODE;
        ax_cfg_keyf(ikey, "%s[%zu]", key, i);
        ax_cfg_keyf(tkey, "%s.term", ikey);
        if (ax_cfg_defaults(rec, fields, nf) < 0)
            ax_cfg_report(&c->err, s_line(item), ikey, "out of memory");
        else if (map)
            failed = s_read_map(c, rec, fields, nf, item, ikey, "", lines);
        else if (!profiles && item->type == YAML_SCALAR_NODE && !s_is_null(item))
            failed = ax_cfg_store(rec, &fields[0], (const char *) item->data.scalar.value, &c->err, tkey,
                                  s_line(item), NULL) < 0;
        else
            ax_cfg_report(&c->err, s_line(item), ikey, "expected %s, not %s",
                          profiles ? "a mapping {name, keywords, ...}"
                                   : "a term or a mapping {term, aliases, company}",
                          s_kind(item));
        ax_profile_t *prof = profiles ? rec : NULL;
        if (map && prof && !prof->title && !(prof->title = s_default_title(prof)))
            ax_cfg_report(&c->err, s_line(item), ikey, "out of memory");
        if (map || c->err.count == before)
            ax_cfg_check_record(&c->err, rec, fields, nf, failed, ikey, lines, s_line(item), false);
        if (map && prof)
            ax_cfg_profile_rules(&c->err, (ax_profile_t *) (void *) recs, i, failed, lines, s_line(item));
        bad[i] = c->err.count != before;
    }
    for (size_t i = 0; i < count; i++) {        /* keep the records without problems */
        void *rec = recs + i * size;
        if (!bad[i])
            memmove(recs + kept++ * size, rec, size);
        else
            r->clear(rec);
    }
    free(bad);
    ax_cfg_records_free(r, AX_CFG_AT(base, f, void *), *AX_CFG_COUNT_AT(base, f));
    *AX_CFG_AT(base, f, void *) = recs;
    *AX_CFG_COUNT_AT(base, f) = kept;
}

/*  Reads the value node of field f of base. */
static void s_read_value(s_ctx_t *c, void *base, const ax_cfg_field_t *f, yaml_node_t *node, const char *key)
{
    bool bad;
    if (f->type == T_LIST)
        s_read_list(c, base, f, node, key);
    else if ((f->type == T_KEYWORDS || f->type == T_PROFILES) && !s_is_null(node))
        s_read_records(c, base, f, node, key);
    else if (f->type == T_KEYWORDS)
        ax_cfg_report(&c->err, s_line(node), key, "expected a list of terms, not null");
    else if (f->type != T_PROFILES) {
        const char *t = s_text(c, node, key, &bad);
        if (!bad)
            ax_cfg_store(base, f, t, &c->err, key, s_line(node), c->dir);
    }
}

/*  The distinct names one level below lookup in fields, for suggestions. */
static size_t s_children(const ax_cfg_field_t *fields, size_t n, const char *lookup, const char **out,
                         char names[][32])
{
    size_t got = 0, plen = strlen(lookup);
    for (size_t i = 0; i < n; i++) {
        const char *rest = fields[i].name;
        if (plen && (strncmp(rest, lookup, plen) != 0 || rest[plen] != '.'))
            continue;
        rest += plen ? plen + 1 : 0;
        snprintf(names[got], 32, "%.*s", (int) strcspn(rest, "."), rest);
        size_t j = 0;
        while (j < got && strcmp(out[j], names[got]) != 0)
            j++;
        if (j == got)
            out[got] = names[got], got++;
    }
    return got;
}

/*  Reads a mapping into base: each key is looked up in fields as lookup.key (a
 *  dotted prefix of a field name is a section mapping, read recursively) and shown
 *  in messages as shown.key. lines[i], when given, gets the line of field i's value.
 *  Returns the mask of fields that had problems. */
static uint32_t s_read_map(s_ctx_t *c, void *base, const ax_cfg_field_t *fields, size_t n, yaml_node_t *map,
                           const char *shown, const char *lookup, int *lines)
{
    uint32_t failed = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *knode = s_node(c, p->key), *value = s_node(c, p->value);
        if (knode->type != YAML_SCALAR_NODE) {
            ax_cfg_report(&c->err, s_line(knode), shown, "keys must be plain strings, not %s", s_kind(knode));
            continue;
        }
        const char *name = (const char *) knode->data.scalar.value;
        char key[AX_CFG_KEYLEN], full[AX_CFG_KEYLEN];
        ax_cfg_keyf(key, "%s%s%s", shown, *shown ? "." : "", name);
        ax_cfg_keyf(full, "%s%s%s", lookup, *lookup ? "." : "", name);
        yaml_node_pair_t *q = map->data.mapping.pairs.start;
        while (q < p && !(s_node(c, q->key)->type == YAML_SCALAR_NODE
                          && !strcmp((const char *) s_node(c, q->key)->data.scalar.value, name)))
            q++;
        if (q < p) {
            ax_cfg_report(&c->err, s_line(knode), key, "duplicate key (first at line %d)",
                          s_line(s_node(c, q->key)));
            continue;
        }
        size_t i = 0, flen = strlen(full);
        bool section = false;
        while (i < n && strcmp(fields[i].name, full) != 0)
            i++;
        for (size_t j = 0; j < n && !section; j++)
            section = !strncmp(fields[j].name, full, flen) && fields[j].name[flen] == '.';
        int before = c->err.count;
        if (i < n)
            s_read_value(c, base, &fields[i], value, key);
        else if (section && value->type == YAML_MAPPING_NODE)
            s_read_map(c, base, fields, n, value, key, full, NULL);
        else if (section && !s_is_null(value))
            ax_cfg_report(&c->err, s_line(value), key, "expected a mapping, not %s", s_kind(value));
        else if (!section) {
            char names[48][32];
            const char *cand[48];
            size_t n_cand = s_children(fields, n, lookup, cand, names);
            ax_cfg_unknown(&c->err, s_line(knode), key, name, cand, n_cand, "key");
        }
        if (i < n && i < 32 && lines)
            lines[i] = s_line(value);
        if (i < n && i < 32 && c->err.count != before)
            failed |= 1u << i;
    }
    return failed;
}

/*  The absolute folder of path (for snapshot:PATH), or its dirname; caller frees. */
static char *s_dir_of(const char *path)
{
    char *dir = realpath(path, NULL);
    if (!dir && !(dir = strdup(path)))
        return NULL;
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        slash[slash == dir] = '\0';
    return dir;
}

/*  The whole of path into *buf (caller frees) and *len: at most S_MAX_BYTES. -1, reported. */
static int s_read_file(s_ctx_t *c, const char *path, unsigned char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = f ? malloc(S_MAX_BYTES + 1) : NULL;
    if (!b) {
        ax_cfg_report(&c->err, 0, "", "cannot open: %s", f ? "out of memory" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    size_t n = fread(b, 1, S_MAX_BYTES + 1, f);
    int failed = ferror(f), saved = errno;
    fclose(f);
    if (failed || n > S_MAX_BYTES) {
        if (failed)
            ax_cfg_report(&c->err, 0, "", "cannot read: %s", strerror(saved));
        else
            ax_cfg_report(&c->err, 0, "", "larger than 1 MiB: not a config file");
        free(b);
        return -1;
    }
    *buf = b;
    *len = n;
    return 0;
}

/*  Refuses, with the line, lists and mappings nested deeper than S_MAX_DEPTH, reading
 *  only events up to there. A syntax error ends this pass silently: the loader reports
 *  it. -1 when too deep (reported). */
static int s_check_depth(s_ctx_t *c, const unsigned char *buf, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&parser))
        return 0;                   /* the loader reports it */
    yaml_parser_set_input_string(&parser, buf, len);
    int depth = 0, rc = 0;
    while (yaml_parser_parse(&parser, &ev)) {
        yaml_event_type_t type = ev.type;
        int line = (int) ev.start_mark.line + 1;
        yaml_event_delete(&ev);
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT)
            depth--;
        else if (type == YAML_STREAM_END_EVENT)
            break;
        if (depth > S_MAX_DEPTH) {
            ax_cfg_report(&c->err, line, "", "lists and mappings nested deeper than %d levels", S_MAX_DEPTH);
            rc = -1;
            break;
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

int ax_config_load_file(ax_config_t *cfg, const char *path, char **errors)
{
    s_ctx_t c = {.cfg = cfg, .err = {.errors = errors, .file = path}};
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    unsigned char *buf = NULL;
    size_t len = 0;
    if (s_read_file(&c, path, &buf, &len) < 0)
        return -1;
    if (s_check_depth(&c, buf, len) < 0 || !yaml_parser_initialize(&parser)) {
        if (!c.err.count)
            ax_cfg_report(&c.err, 0, "", "cannot read: out of memory");
        free(buf);
        return -1;
    }
    yaml_parser_set_input_string(&parser, buf, len);
    bool have_doc = yaml_parser_load(&parser, &doc), loaded = have_doc;
    yaml_node_t *root = loaded ? yaml_document_get_root_node(&doc) : NULL;
    if (root && yaml_parser_load(&parser, &extra)) {
        if (yaml_document_get_root_node(&extra))
            ax_cfg_report(&c.err, s_line(yaml_document_get_root_node(&extra)), "",
                          "only one YAML document is allowed");
        yaml_document_delete(&extra);
    } else if (root)
        loaded = false;
    if (!loaded && parser.context && parser.context_mark.line != parser.problem_mark.line)
        ax_cfg_report(&c.err, (int) parser.problem_mark.line + 1, "", "invalid YAML: %s (%s at line %d)",
                      parser.problem ? parser.problem : "error", parser.context,
                      (int) parser.context_mark.line + 1);
    else if (!loaded)
        ax_cfg_report(&c.err, (int) parser.problem_mark.line + 1, "", "invalid YAML: %s%s%s",
                      parser.problem ? parser.problem : "error", parser.context ? " " : "",
                      parser.context ? parser.context : "");
    else if (root && root->type != YAML_MAPPING_NODE && !s_is_null(root))
        ax_cfg_report(&c.err, s_line(root), "",
                      "the file must be a mapping of sections (redis:, broker:, profiles:, ...)");
    else if (root && !s_is_null(root)) {
        c.doc = &doc;
        if (!(c.dir = s_dir_of(path)))
            ax_cfg_report(&c.err, 0, "", "out of memory");
        else
            s_read_map(&c, cfg, ax_cfg_keys, ax_cfg_n_keys, root, "", "", NULL);
        free((char *) c.dir);
    }
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(buf);
    return c.err.count ? -1 : 0;
}
