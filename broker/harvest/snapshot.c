/*  snapshot.c: streaming reader of the Kaggle arXiv snapshot (see snapshot.h).
 *
 *  Each line is scanned in place by the strict JSON scanner of snapshot_json.c, which
 *  only notes where the wanted values lie; nothing is decoded or allocated until the
 *  record passes the filter. Before even that, s_precheck_drop() looks at the raw
 *  categories and v1 date where the snapshot's compact layout puts them, so a line
 *  outside the filter costs a memmem().
 *
 *  Lines are read with read(2) into one buffer and parsed where they lie (no copy). The
 *  buffer grows to hold the longest line, up to AX_SNAPSHOT_LINE_MAX + 1 bytes: a longer
 *  line is read on and dropped up to its newline (s_skip_line), so a file of one endless
 *  line (or /dev/zero, had it got past the open checks) costs a bounded buffer.
 */
#define _GNU_SOURCE
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "snapshot_json.h"
#include "text.h"

#define S_IO_BUFFER (1 << 20)   /* first size of the read buffer, bytes */
#define S_STOP_EVERY 4096       /* lines between two looks at the stop flag */

/*  Where the wanted values of one line lie. */
typedef struct {
    ax_jscan_str_t id, title, abstract, authors, categories, comments, journal_ref, doi;
    ax_jscan_raw_t versions, authors_parsed;
} s_record_t;

/*  A filter category, measured once. */
typedef struct {
    char *name;
    size_t len;
    int archive;                /* no '.': the whole archive ("cs", "hep-th") */
} s_cat_t;

struct ax_snapshot {
    char *path;
    int fd;                     /* -1 until the first read (opened lazily, see snapshot.h) */
    s_cat_t *cats;              /* category filter, n_cats 0 = all */
    size_t n_cats;
    int64_t from, to;           /* date filter (unix s), 0 = open */
    char *buf;                  /* read buffer: lines are parsed where they lie in it */
    size_t buf_cap;             /* grows up to AX_SNAPSHOT_LINE_MAX + 1, never further */
    size_t start, scan, end;    /* next line, where the '\n' search resumes, end of data */
    int eof;
    const atomic_int *stop;     /* ax_snapshot_stop_on: a long read gives up when set */
    char *scratch;              /* decoding buffer, >= line length + 16 bytes */
    size_t scratch_cap;
    uint64_t offset;            /* byte offset of the next line */
    uint64_t next_line;         /* its 1-based number */
    ax_snapshot_stats_t stats;
    char error[256];
};

/*  The keys a record is read for; the others are scanned and skipped. */
static const ax_jscan_field_t s_fields[] = {
    {"id", 2, offsetof(s_record_t, id), 0},
    {"title", 5, offsetof(s_record_t, title), 0},
    {"abstract", 8, offsetof(s_record_t, abstract), 0},
    {"authors", 7, offsetof(s_record_t, authors), 0},
    {"categories", 10, offsetof(s_record_t, categories), 0},
    {"comments", 8, offsetof(s_record_t, comments), 0},
    {"journal-ref", 11, offsetof(s_record_t, journal_ref), 0},
    {"doi", 3, offsetof(s_record_t, doi), 0},
    {"versions", 8, offsetof(s_record_t, versions), 1},
    {"authors_parsed", 14, offsetof(s_record_t, authors_parsed), 1},
};

/*  Outcome of turning a line into a paper. */
enum { S_PAPER = 1, S_FILTERED = 0, S_MALFORMED = -1, S_NOMEM = -2 };

/* ---- decoded fields ------------------------------------------------------------------- */

/*  Folded copy of an optional string into *dst: NULL when absent or blank. -1 on OOM. */
static int s_fold(ax_snapshot_t *self, const ax_jscan_str_t *s, char **dst)
{
    *dst = NULL;
    if (!s->p)
        return 0;
    char *v = ax_text_fold(self->scratch, ax_jscan_decode(s, self->scratch));
    if (!v)
        return -1;
    if (*v)
        *dst = v;
    else
        free(v);
    return 0;
}

/*  Unix seconds of a version's "created" date, 0 when absent or unreadable. */
static int64_t s_time(const ax_jscan_str_t *s)
{
    char buf[64];
    int64_t t;
    if (!s->p || s->n >= sizeof buf)
        return 0;
    ax_jscan_decode(s, buf);
    return ax_time_parse(buf, &t) == 0 ? t : 0;
}

/*  Adds the folded name s[0..len) to out->authors unless it is blank. -2 on OOM. */
static int s_add_author(ax_paper_t *out, size_t *cap, const char *s, size_t len)
{
    char *name = ax_text_fold(s, len);
    if (!name)
        return -2;
    if (!*name) {
        free(name);
        return 0;
    }
    return ax_strv_push(&out->authors, &out->n_authors, cap, name) < 0 ? -2 : 0;
}

/* ---- filter --------------------------------------------------------------------------- */

static int s_cat_match(const char *f, size_t fl, int archive, const char *t, size_t tl)
{
    if (tl == fl)
        return memcmp(f, t, fl) == 0;
    return archive && tl > fl && t[fl] == '.' && memcmp(f, t, fl) == 0;
}

/*  Next whitespace-separated word of [*p, end) into *word, its length returned (0: none
 *  left); *p moves past it. */
static size_t s_word(const char **p, const char *end, const char **word)
{
    while (*p < end && ax_is_space((unsigned char) **p))
        (*p)++;
    *word = *p;
    while (*p < end && !ax_is_space((unsigned char) **p))
        (*p)++;
    return (size_t) (*p - *word);
}

/*  1 when one of the space-separated categories in s[0..n) passes the category filter. */
static int s_cats_pass(const ax_snapshot_t *self, const char *s, size_t n)
{
    const char *p = s, *t;
    size_t tl;
    if (self->n_cats == 0)
        return 1;
    while ((tl = s_word(&p, s + n, &t)) > 0)
        for (size_t i = 0; i < self->n_cats; i++)
            if (s_cat_match(self->cats[i].name, self->cats[i].len, self->cats[i].archive, t, tl))
                return 1;
    return 0;
}

/*  1 when v1's creation time t (0 = unknown) passes the date filter. */
static int s_date_pass(const ax_snapshot_t *self, int64_t t)
{
    if (!self->from && !self->to)
        return 1;
    return t != 0 && (!self->from || t >= self->from) && (!self->to || t <= self->to);
}

int ax_snapshot_filter_categories(const ax_snapshot_filter_t *filter, char *const *categories,
                                  size_t n_categories)
{
    if (!filter || filter->n_categories == 0)
        return 1;
    for (size_t i = 0; i < n_categories; i++)
        for (size_t j = 0; j < filter->n_categories; j++) {
            const char *f = filter->categories[j];
            if (s_cat_match(f, strlen(f), !strchr(f, '.'), categories[i], strlen(categories[i])))
                return 1;
        }
    return 0;
}

/*  The raw string value after key in line, where the snapshot's compact layout puts it:
 *  right after a ',' or '{' (so the match cannot sit inside a string) and without escapes.
 *  0 when not found that way. */
static int s_raw_value(const char *line, size_t len, const char *key, size_t key_len, ax_jscan_str_t *v)
{
    const char *k = memmem(line, len, key, key_len), *q;
    if (!k || k == line || (k[-1] != ',' && k[-1] != '{'))
        return 0;
    v->p = k + key_len;
    q = memchr(v->p, '"', (size_t) (line + len - v->p));
    if (!q || memchr(v->p, '\\', (size_t) (q - v->p)))
        return 0;
    v->n = (size_t) (q - v->p);
    v->escaped = 0;
    return 1;
}

/*  1 when the filter surely drops this raw line, 0 when it must be parsed. Anything
 *  unusual is left to the full parse; a malformed line dropped here counts as filtered. */
static int s_precheck_drop(const ax_snapshot_t *self, const char *line, size_t len)
{
    static const char cat_key[] = "\"categories\":\"";
    static const char v1_key[] = "\"versions\":[{\"version\":\"v1\",\"created\":\"";
    ax_jscan_str_t v;
    if (self->n_cats && s_raw_value(line, len, cat_key, sizeof cat_key - 1, &v) &&
        !s_cats_pass(self, v.p, v.n))
        return 1;
    if ((self->from || self->to) && s_raw_value(line, len, v1_key, sizeof v1_key - 1, &v)) {
        int64_t t = s_time(&v);
        return t && !s_date_pass(self, t);
    }
    return 0;
}

/* ---- record -> paper ------------------------------------------------------------------ */

/*  Walks the "versions" array: counts its entries and finds the "created" strings of the
 *  first (v1) and the last. -1 when it is not an array of objects. */
static int s_versions(const ax_jscan_raw_t *raw, int *count, ax_jscan_str_t *v1, ax_jscan_str_t *last)
{
    ax_jscan_t js;
    int first = 1, rc;
    ax_jscan_init(&js, raw->p, raw->n);
    *count = 0;
    if (*js.p++ != '[')
        return -1;
    while ((rc = ax_jscan_item(&js, ']', &first)) == 1) {
        ax_jscan_str_t created = {0}, key;
        int ofirst = 1, orc;
        if (*js.p++ != '{')
            return -1;
        while ((orc = ax_jscan_item(&js, '}', &ofirst)) == 1) {
            if (ax_jscan_key(&js, &key) < 0)
                return -1;
            int want = !key.escaped && key.n == 7 && memcmp(key.p, "created", 7) == 0;
            if (want && js.p < js.end && *js.p == '"' ? ax_jscan_string(&js, &created) < 0
                                                       : ax_jscan_value(&js, 1) < 0)
                return -1;
        }
        if (orc < 0)
            return -1;
        if ((*count)++ == 0)
            *v1 = created;
        *last = created;
    }
    return rc;
}

/*  Authors from "authors_parsed" ([[last, first, suffix(, affiliation)], ...]) as
 *  "First Last Suffix", folded, the affiliation left out. -1 when it is not an array of
 *  arrays of strings or nulls (the caller then uses "authors"), -2 on OOM. */
static int s_authors_parsed(ax_snapshot_t *self, const ax_jscan_raw_t *raw, ax_paper_t *out)
{
    static const int order[] = {1, 0, 2};          /* first, last, suffix */
    ax_jscan_t js;
    int first = 1, rc;
    size_t cap = 0;
    ax_jscan_init(&js, raw->p, raw->n);
    if (*js.p++ != '[')
        return -1;
    while ((rc = ax_jscan_item(&js, ']', &first)) == 1) {
        ax_jscan_str_t part[3];
        size_t n_part = 0;
        int ifirst = 1, irc;
        memset(part, 0, sizeof part);
        if (*js.p++ != '[')
            return -1;
        while ((irc = ax_jscan_item(&js, ']', &ifirst)) == 1) {
            ax_jscan_str_t s = {0};
            if (*js.p == '"' ? ax_jscan_string(&js, &s) < 0 : ax_jscan_literal(&js, "null", 4) < 0)
                return -1;
            if (n_part < 3)
                part[n_part++] = s;
        }
        if (irc < 0)
            return -1;
        char *o = self->scratch;
        for (size_t i = 0; i < 3; i++)
            if (part[order[i]].p) {
                o += ax_jscan_decode(&part[order[i]], o);
                *o++ = ' ';
            }
        if (s_add_author(out, &cap, self->scratch, (size_t) (o - self->scratch)) < 0)
            return -2;
    }
    return rc;
}

/*  Authors from the "authors" string, split on "," and " and ". -2 on OOM. */
static int s_authors_string(ax_snapshot_t *self, const ax_jscan_str_t *s, ax_paper_t *out)
{
    size_t cap = 0, len = ax_jscan_decode(s, self->scratch);
    const char *p = self->scratch, *end = p + len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t) (end - p));
        const char *stop = comma ? comma : end;
        const char *and = memmem(p, (size_t) (stop - p), " and ", 5);
        if (and)
            stop = and;
        if (s_add_author(out, &cap, p, (size_t) (stop - p)) < 0)
            return -2;
        if (stop == end)
            break;
        p = stop + (stop == and ? 5 : 1);
    }
    return 0;
}

/*  Space-separated categories s[0..n) into out->categories. -1 on OOM. */
static int s_categories(const char *s, size_t n, ax_paper_t *out)
{
    const char *p = s, *t;
    size_t cap = 0, tl;
    while ((tl = s_word(&p, s + n, &t)) > 0) {
        char *c = strndup(t, tl);
        if (!c || ax_strv_push(&out->categories, &out->n_categories, &cap, c) < 0)
            return -1;
    }
    return 0;
}

/*  Turns a scanned record into *out, filtering before the costly fields are decoded.
 *  S_PAPER, S_FILTERED, S_MALFORMED (*why says why) or S_NOMEM; on anything but S_PAPER
 *  the caller clears *out. */
static int s_build(ax_snapshot_t *self, const s_record_t *rec, ax_paper_t *out, const char **why)
{
    char *scratch = self->scratch;
    int id_version = 0, count = 0;
    ax_jscan_str_t v1, last;
    *why = !rec->id.p ? "missing id" : !rec->title.p ? "missing title" : NULL;
    if (*why)
        return S_MALFORMED;
    ax_jscan_decode(&rec->id, scratch);
    if (ax_arxiv_id_split(scratch, &out->id, &id_version) < 0) {
        *why = "bad id";
        return S_MALFORMED;
    }
    size_t n = rec->categories.p ? ax_jscan_decode(&rec->categories, scratch) : 0;
    if (!s_cats_pass(self, scratch, n))
        return S_FILTERED;
    if (s_categories(scratch, n, out) < 0)
        return S_NOMEM;
    if (rec->versions.p && s_versions(&rec->versions, &count, &v1, &last) == 0 && count) {
        out->submitted = s_time(&v1);
        out->updated = v1.p && last.p && last.n == v1.n && memcmp(last.p, v1.p, v1.n) == 0
                           ? out->submitted : s_time(&last);
    }
    out->version = count ? count : id_version;
    if ((*why = ax_paper_problem(out)))            /* no readable v1 date: versions[0].created */
        return S_MALFORMED;
    if (!s_date_pass(self, out->submitted))
        return S_FILTERED;

    if (s_fold(self, &rec->title, &out->title) < 0)
        return S_NOMEM;
    if (!out->title) {
        *why = "empty title";
        return S_MALFORMED;
    }
    int rc = rec->authors_parsed.p ? s_authors_parsed(self, &rec->authors_parsed, out) : -1;
    if (rc == -1) {
        ax_strv_free(&out->authors, out->n_authors);
        out->n_authors = 0;
        rc = rec->authors.p ? s_authors_string(self, &rec->authors, out) : 0;
    }
    if (rc < 0 || s_fold(self, &rec->abstract, &out->abstract) < 0 ||
        s_fold(self, &rec->comments, &out->comments) < 0 ||
        s_fold(self, &rec->journal_ref, &out->journal_ref) < 0 ||
        s_fold(self, &rec->doi, &out->doi) < 0)
        return S_NOMEM;
    return S_PAPER;
}

/*  One non-blank line (without its newline) into *out; see s_build for the result. */
static int s_parse_line(ax_snapshot_t *self, const char *line, size_t len, ax_paper_t *out,
                        char *why, size_t why_size)
{
    if (s_precheck_drop(self, line, len))
        return S_FILTERED;
    if (self->scratch_cap < len + 16) {
        size_t cap = len + 16 > 2 * self->scratch_cap ? len + 16 : 2 * self->scratch_cap;
        char *scratch = realloc(self->scratch, cap);
        if (!scratch)
            return S_NOMEM;
        self->scratch = scratch;
        self->scratch_cap = cap;
    }
    ax_jscan_t js;
    s_record_t rec;
    ax_jscan_init(&js, line, len);
    if (ax_jscan_object(&js, s_fields, sizeof s_fields / sizeof *s_fields, &rec) < 0) {
        snprintf(why, why_size, "%s at byte %zu", js.error, js.at + 1);
        return S_MALFORMED;
    }
    const char *what = NULL;
    int rc = s_build(self, &rec, out, &what);
    if (rc == S_MALFORMED)
        snprintf(why, why_size, "%s", what);
    return rc;
}

/* ---- reader --------------------------------------------------------------------------- */

static void s_set_error(ax_snapshot_t *self, const char *what, int errnum)
{
    snprintf(self->error, sizeof self->error, "snapshot %s: %s%s%s", self->path, what,
             errnum ? ": " : "", errnum ? strerror(errnum) : "");
}

/*  Why path cannot be a snapshot, judged without opening it (a FIFO or a device would
 *  block or never end): NULL when it is a readable regular file, else the reason, with
 *  *errnum set when errno tells more. */
static const char *s_unfit(const char *path, int *errnum)
{
    struct stat st;
    *errnum = 0;
    if (stat(path, &st) < 0) {
        *errnum = errno;
        return "cannot open";
    }
    if (S_ISDIR(st.st_mode))
        return "is a directory";
    if (!S_ISREG(st.st_mode))
        return S_ISFIFO(st.st_mode) ? "is a FIFO, not a regular file"
             : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "is a device, not a regular file"
                                                          : "is not a regular file";
    if (access(path, R_OK) < 0) {
        *errnum = errno;
        return "cannot read";
    }
    return NULL;
}

/*  Opens the file for the first read: without blocking (O_NONBLOCK, so a FIFO put in its
 *  place since ax_snapshot_open cannot hang us) and only if it still is a regular file. */
static int s_open_file(ax_snapshot_t *self)
{
    struct stat st;
    self->fd = open(self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (self->fd < 0) {
        s_set_error(self, "cannot open", errno);
        return -1;
    }
    if (fstat(self->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        s_set_error(self, "is not a regular file", 0);
        return -1;
    }
    int flags = fcntl(self->fd, F_GETFL);
    if (flags < 0 || fcntl(self->fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
        lseek(self->fd, (off_t) self->offset, SEEK_SET) < 0) {
        s_set_error(self, "cannot seek", errno);
        return -1;
    }
    return 0;
}

ax_snapshot_t *ax_snapshot_open(const char *path, const ax_snapshot_filter_t *filter, char **err)
{
    const char *why = "out of memory";
    int errnum = 0;
    *err = NULL;
    ax_snapshot_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path)))
        goto fail;
    self->fd = -1;
    self->next_line = 1;
    if (filter) {
        self->from = filter->from;
        self->to = filter->to;
        if (filter->n_categories &&
            !(self->cats = calloc(filter->n_categories, sizeof *self->cats)))
            goto fail;
        for (size_t i = 0; i < filter->n_categories; i++) {
            s_cat_t *c = &self->cats[self->n_cats];
            if (!filter->categories[i] || !*filter->categories[i])
                continue;
            if (!(c->name = strdup(filter->categories[i])))
                goto fail;
            c->len = strlen(c->name);
            c->archive = strchr(c->name, '.') == NULL;
            self->n_cats++;
        }
    }
    if ((why = s_unfit(path, &errnum)) != NULL)
        goto fail;
    return self;
fail:
    if (asprintf(err, "snapshot %s: %s%s%s", path, why, errnum ? ": " : "",
                 errnum ? strerror(errnum) : "") < 0)
        *err = NULL;
    ax_snapshot_destroy(&self);
    return NULL;
}

void ax_snapshot_destroy(ax_snapshot_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ax_snapshot_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    for (size_t i = 0; i < self->n_cats; i++)
        free(self->cats[i].name);
    free(self->cats);
    free(self->buf);
    free(self->scratch);
    free(self->path);
    free(self);
    *self_p = NULL;
}

void ax_snapshot_stop_on(ax_snapshot_t *self, const atomic_int *stop)
{
    self->stop = stop;
}

/*  Reads more of the file after the buffered data, first making room: the unread part
 *  moves to the front, and the buffer doubles (up to one longest line) when that part
 *  fills it. Sets eof at the end. 0 / -1 (errno). */
static int s_fill(ax_snapshot_t *self)
{
    if (self->start > 0 && (self->end == self->buf_cap || self->start >= self->buf_cap / 2)) {
        memmove(self->buf, self->buf + self->start, self->end - self->start);
        self->end -= self->start;
        self->scan -= self->start;
        self->start = 0;
    }
    if (self->end == self->buf_cap) {           /* full of one line: s_next_raw caps it */
        size_t cap = self->buf_cap ? 2 * self->buf_cap : S_IO_BUFFER;
        cap = cap > (size_t) AX_SNAPSHOT_LINE_MAX + 1 ? (size_t) AX_SNAPSHOT_LINE_MAX + 1 : cap;
        char *buf = cap > self->buf_cap ? realloc(self->buf, cap) : NULL;
        if (!buf) {
            errno = ENOMEM;
            return -1;
        }
        self->buf = buf;
        self->buf_cap = cap;
    }
    for (;;) {
        ssize_t got = read(self->fd, self->buf + self->end, self->buf_cap - self->end);
        if (got >= 0) {
            self->end += (size_t) got;
            self->eof = got == 0;
            return 0;
        }
        if (errno != EINTR)
            return -1;
    }
}

/*  The rest of a line too long to hold: read and dropped up to its '\n' (or the end of
 *  the file). *used counts its bytes. 0 / -1 (errno). */
static int s_skip_line(ax_snapshot_t *self, uint64_t *used)
{
    for (;;) {
        char *nl = self->end > self->start ? memchr(self->buf + self->start, '\n', self->end - self->start) : NULL;
        if (nl) {
            size_t upto = (size_t) (nl + 1 - self->buf);
            *used += upto - self->start;
            self->start = self->scan = upto;
            return 0;
        }
        *used += self->end - self->start;
        self->start = self->scan = self->end = 0;
        if (self->eof)
            return 0;
        if (s_fill(self) < 0)
            return -1;
    }
}

/*  The next line, where it lies in the buffer (valid until the next call; without its
 *  '\n'), and *used, its bytes in the file. 1 = a line, 2 = a line longer than
 *  AX_SNAPSHOT_LINE_MAX (skipped, never held whole: *line NULL), 0 = end of file,
 *  -1 = read error (errno). */
static int s_next_raw(ax_snapshot_t *self, const char **line, size_t *len, uint64_t *used)
{
    for (;;) {
        char *nl = self->end > self->scan ? memchr(self->buf + self->scan, '\n', self->end - self->scan) : NULL;
        size_t have = self->end - self->start;
        if (nl || (self->eof && have)) {
            *line = self->buf + self->start;
            *len = nl ? (size_t) (nl - *line) : have;
            *used = *len + (nl ? 1 : 0);
            self->start = self->scan = self->start + *used;
            return 1;
        }
        self->scan = self->end;
        if (have > AX_SNAPSHOT_LINE_MAX) {
            *line = NULL;
            *used = 0;
            return s_skip_line(self, used) < 0 ? -1 : 2;
        }
        if (self->eof)
            return 0;
        if (s_fill(self) < 0)
            return -1;
    }
}

/*  What one line read gives: a paper (1), a line counted and skipped (0) or an error
 *  (-1); every line is counted in stats.lines. */
static int s_take_line(ax_snapshot_t *self, ax_paper_t *out, const char *line, size_t len, uint64_t line_no)
{
    char why[160];
    size_t lead = 0;
    self->stats.lines++;
    if (!line) {
        snprintf(why, sizeof why, "line longer than %d bytes", AX_SNAPSHOT_LINE_MAX);
        goto malformed;
    }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    while (lead < len && ax_is_space((unsigned char) line[lead]))
        lead++;
    if (lead == len)
        return 0;                                   /* blank line */
    int rc = s_parse_line(self, line, len, out, why, sizeof why);
    if (rc == S_PAPER) {
        self->stats.papers++;
        return 1;
    }
    ax_paper_clear(out);
    if (rc == S_NOMEM) {
        s_set_error(self, "out of memory", 0);
        return -1;
    }
    if (rc == S_FILTERED) {
        self->stats.filtered++;
        return 0;
    }
malformed:
    self->stats.malformed++;
    ax_log_warn("snapshot: malformed line skipped|file=%s line=%llu reason=\"%s\"", self->path,
                (unsigned long long) line_no, why);
    return 0;
}

int ax_snapshot_next(ax_snapshot_t *self, ax_paper_t *out)
{
    memset(out, 0, sizeof *out);
    if (self->fd < 0 && s_open_file(self) < 0)
        return -1;
    for (unsigned n = 1;; n++) {
        const char *line;
        size_t len = 0;
        uint64_t used = 0;
        if (self->stop && n % S_STOP_EVERY == 0 && atomic_load(self->stop)) {
            s_set_error(self, "stopped", 0);
            return -1;
        }
        int rc = s_next_raw(self, &line, &len, &used);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            s_set_error(self, "read failed", errno ? errno : EIO);
            return -1;
        }
        uint64_t line_no = self->next_line++;
        self->offset += used;
        if ((rc = s_take_line(self, out, line, len, line_no)) != 0)
            return rc;
    }
}

void ax_snapshot_tell(const ax_snapshot_t *self, uint64_t *offset, uint64_t *line)
{
    *offset = self->offset;
    *line = self->next_line;
}

int ax_snapshot_seek(ax_snapshot_t *self, uint64_t offset, uint64_t line)
{
    if (offset > (uint64_t) INT64_MAX ||
        (self->fd >= 0 && lseek(self->fd, (off_t) offset, SEEK_SET) < 0)) {
        s_set_error(self, "cannot seek", errno);
        return -1;
    }
    self->start = self->scan = self->end = 0;
    self->eof = 0;
    self->offset = offset;
    self->next_line = line ? line : 1;
    return 0;
}

const ax_snapshot_stats_t *ax_snapshot_stats(const ax_snapshot_t *self)
{
    return &self->stats;
}

const char *ax_snapshot_error(const ax_snapshot_t *self)
{
    return self->error;
}
