/*  snapshot_json.h: the snapshot reader's strict JSON scanner (broker-private: only
 *  snapshot.c uses it; not a general JSON API).
 *
 *  A scanner walks one line (or one value of it) in place: it checks the JSON grammar,
 *  string escapes and UTF-8 and limits nesting, but decodes and allocates nothing. What it
 *  finds is handed back as spans of the line (ax_jscan_str_t, ax_jscan_raw_t), decoded
 *  later with ax_jscan_decode only for the records that pass the reader's filter.
 *
 *  Every function that can fail returns -1 and notes the first problem in js->error (a
 *  static text) and its byte offset in js->at; js->p is then somewhere inside the bad
 *  value. Spans point into the scanned text, which must outlive them.
 */
#ifndef AX_SNAPSHOT_JSON_H
#define AX_SNAPSHOT_JSON_H

#include <stddef.h>

#define AX_JSCAN_MAX_DEPTH 64   /* nesting allowed in a scanned value */

/*  A JSON string as it sits in the text: the bytes between its quotes. */
typedef struct {
    const char *p;              /* NULL: absent, null, or not a string */
    size_t n;
    int escaped;                /* has backslash escapes: decode before use */
} ax_jscan_str_t;

/*  A JSON value kept raw (an array, say), to be scanned again later. */
typedef struct {
    const char *p;              /* NULL: absent */
    size_t n;
} ax_jscan_raw_t;

/*  Scanner state over [start, end). */
typedef struct {
    const char *p;              /* next byte to read */
    const char *end;            /* one past the last byte */
    const char *start;          /* the first byte, for js->at */
    const char *error;          /* first problem found (static text), NULL when none */
    size_t at;                  /* its byte offset from start */
} ax_jscan_t;

/*  A key ax_jscan_object looks for, and where in the caller's record its value goes. */
typedef struct {
    const char *name;           /* the key, unescaped */
    size_t len;                 /* strlen(name) */
    size_t offset;              /* of its ax_jscan_str_t / ax_jscan_raw_t in the record */
    int raw;                    /* 1: any value kept raw (ax_jscan_raw_t); 0: a string
                                   (ax_jscan_str_t), any other type counting as absent */
} ax_jscan_field_t;

/*  A scanner over text[0..len). */
void ax_jscan_init(ax_jscan_t *js, const char *text, size_t len);

/*  Scans the whole text as one JSON object (whitespace around it allowed) and stores the
 *  value of each key in fields into the record rec at its offset; the others are checked
 *  and skipped. Each field's slot is zeroed first (absent); a repeated key's last value
 *  wins. 0, or -1 when the text is not exactly one valid JSON object. */
int ax_jscan_object(ax_jscan_t *js, const ax_jscan_field_t *fields, size_t n_fields,
                    void *rec);

/*  Steps to the next item of the array or object being read (its opening bracket already
 *  consumed); close is its closing bracket, *first is 1 until the first item. 1 = an item
 *  follows (js->p on it), 0 = the container ended (bracket consumed), -1 = syntax error. */
int ax_jscan_item(ax_jscan_t *js, char close, int *first);

/*  Scans an object's "key": into *key and leaves js->p on the value. */
int ax_jscan_key(ax_jscan_t *js, ax_jscan_str_t *key);

/*  Scans the string at js->p (a '"'), checking its escapes and UTF-8, into *out. */
int ax_jscan_string(ax_jscan_t *js, ax_jscan_str_t *out);

/*  Scans (checks and skips) the value at js->p; depth is its nesting level (1 at the top,
 *  refused past AX_JSCAN_MAX_DEPTH). */
int ax_jscan_value(ax_jscan_t *js, int depth);

/*  Scans the literal word[0..len) ("null", "true", "false") at js->p. */
int ax_jscan_literal(ax_jscan_t *js, const char *word, size_t len);

/*  Decodes the scanned (so valid) string s into dst, which has room for s->n + 1 bytes:
 *  decoding never makes a string longer. NUL-terminates; returns the length. \u0000 and
 *  unpaired surrogates become U+FFFD, so the result is clean UTF-8 without NULs. */
size_t ax_jscan_decode(const ax_jscan_str_t *s, char *dst);

#endif
