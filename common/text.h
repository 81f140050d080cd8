/*  text.h: small text helpers shared by every source and renderer. */
#ifndef AX_TEXT_H
#define AX_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*  1 when c is ASCII whitespace: ' ', '\t', '\n', '\v', '\f' or '\r' (never the
 *  locale's idea of it). The one definition of "whitespace" that folding uses. */
static inline int ax_is_space(unsigned char c)
{
    return c == ' ' || (unsigned) (c - '\t') <= '\r' - '\t';
}

/*  Copy of s[0..len) with runs of ASCII whitespace folded to one space and the ends
 *  trimmed (titles and abstracts are hard-wrapped). Everything else, LaTeX and
 *  Unicode included, is kept as written. Caller frees; NULL on OOM. */
char *ax_text_fold(const char *s, size_t len);

/*  ax_text_fold into the caller's dst, which has room for len + 1 bytes (folding never
 *  lengthens); dst may be s itself (folding in place). NUL-terminates; returns the
 *  folded length. */
size_t ax_text_fold_to(char *dst, const char *s, size_t len);

/*  Length (1..4) of the valid UTF-8 sequence at p, which ends before end, with its code
 *  point in *cp; 0 when the bytes are no valid UTF-8 (overlong, surrogate, > U+10FFFF). */
size_t ax_utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp);

/*  Splits "2602.09386v3" into id "2602.09386" (caller frees) and version 3
 *  (0 when there is none). Accepts new-style ids YYMM.NNNN(N), old-style ids
 *  archive(.SC)/YYMMNNN ("hep-th/9901001v2", "math.AG/0601001": the archive is lower-case
 *  words joined by '-', SC two capitals) and the "http://arxiv.org/abs/..." /
 *  "oai:arXiv.org:" prefixes. -1 when s is not an id (so "../1234567" never is). */
int ax_arxiv_id_split(const char *s, char **id, int *version);

/*  Parses "Mon, 2 Apr 2007 19:18:42 GMT" (RFC 2822), "2007-04-02T19:18:42Z"
 *  (RFC 3339) or "2007-04-02" into unix seconds. -1 when it is neither. */
int ax_time_parse(const char *s, int64_t *out);

/*  Formats unix seconds (UTC) with strftime format fmt into buf. Returns buf. */
char *ax_time_format(int64_t t, const char *fmt, char *buf, size_t size);

/*  *err = a formatted message (caller frees), when err is not NULL; NULL on OOM. */
void ax_set_error(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  Current wall-clock time in ms and monotonic time in ms. */
int64_t ax_now_ms(void);
int64_t ax_mono_ms(void);

#endif
