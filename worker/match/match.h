/*  match.h: the profile keyword matcher (SPEC section 3).
 *
 *  All profiles' keywords (terms and aliases) and exclude terms are compiled into one
 *  structure that scans a paper's text once for every profile together. Matching is
 *  case-insensitive (ASCII folding), on word boundaries, and forgiving:
 *
 *  - a word is a run of ASCII letters/digits and non-ASCII letters of 2-byte UTF-8
 *    sequences (Latin, Greek, Cyrillic: "café" is one word); 3- and 4-byte sequences
 *    (CJK, dashes, curly quotes) and ASCII punctuation end a word;
 *  - hyphen, whitespace, '/', '_' and nothing are the same between words, in the term
 *    and in the text: "cold-start" = "cold start" = "coldstart" = "Cold-Start";
 *  - the last word of a term matches its English plural/singular (+s, +es, y -> ies),
 *    whichever of the two the term is written in;
 *  - other ASCII punctuation in a term must appear literally ("c++", "u.s.");
 *  - a term that has no ASCII letter or digit, or that contains CJK (3/4-byte UTF-8)
 *    text, matches as a plain substring (Chinese text has no spaces): "快手";
 *  - a keyword's term and aliases count as one hit; exclude terms match the same way.
 *
 *  A matcher keeps a scratch array: one matcher must not be used by two threads at once.
 */
#ifndef AX_MATCH_H
#define AX_MATCH_H

#include <stddef.h>

#include "paper.h"

typedef struct ax_matcher ax_matcher_t;

/*  Compiles the profiles into a matcher. Profiles are only borrowed during the call.
 *  NULL on a bad profile (empty term, alias or exclude term, missing name, negative
 *  min_hits) with *err set to a message naming it (caller frees; err may be NULL),
 *  or on OOM (*err "out of memory"). */
ax_matcher_t *ax_matcher_new(const ax_profile_t *profiles, size_t n_profiles, char **err);

/*  Frees the matcher and NULLs *self_p; accepts NULL and *self_p == NULL. */
void ax_matcher_destroy(ax_matcher_t **self_p);

size_t ax_matcher_profile_count(const ax_matcher_t *m);

/*  Number of keywords of all profiles together (exclude terms not counted). Keyword k
 *  of the global numbering is profile 0's keywords first, then profile 1's, ... */
size_t ax_matcher_keyword_count(const ax_matcher_t *m);

/*  Decides the verdict of every profile for one paper. verdicts is an array of
 *  ax_matcher_profile_count() structs the caller zeroed; each is filled with the profile
 *  name, state, reason, hits and company, and is the caller's to ax_verdict_clear.
 *  Text matched: title, abstract and comments (each may be NULL or empty). Per profile:
 *  1. categories given and none of the paper's in them -> EXCLUDED "category: not in A, B"
 *     (a profile category without a dot, "cs", takes every "cs.*");
 *  2. an exclude term hits -> EXCLUDED "exclude: TERM";
 *  3. distinct keyword hits < min_hits -> BELOW_THRESHOLD "hits H < min_hits M";
 *  4. else MATCHED.
 *  hits (terms of the keywords hit, in profile order) are filled in states 2-4, company
 *  (of the first hit keyword that has one) in state 4. 0, or -1 on OOM. */
int ax_matcher_judge(ax_matcher_t *m, const ax_paper_t *paper, ax_verdict_t *verdicts);

/*  Low-level scan of one text for the benchmark and tests. hit has
 *  ax_matcher_keyword_count() entries; it is cleared, then hit[k] = 1 for each global
 *  keyword k hit. Returns the number of distinct keywords hit. */
size_t ax_matcher_scan(ax_matcher_t *m, const char *text, size_t len, unsigned char *hit);

#endif
