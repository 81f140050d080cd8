/*  render.h: ranking and the digest.md renderer of the collector (SPEC section 5).
 *
 *  The collector holds the (paper, verdict) pairs of one profile and one period; this
 *  module orders them and writes the ranked digest in the layout of seed 000: heading,
 *  generation time, count "(Top N)", sort rule, then per paper the translated title,
 *  English title, authors, time, link, company, keyword hits, interest score and summary.
 *  Labels come from the profile's language ("zh" as in the seed, English otherwise).
 *
 *  Everything that came from arXiv or the LLM goes through ax_md_escape, so no title,
 *  author, reason or abstract can open a link, an HTML tag, a heading or a rule.
 */
#ifndef AX_RENDER_H
#define AX_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "paper.h"

/*  Sorts entries for a digest: keyword hits (verdict.n_hits) descending, then LLM score
 *  (verdict.llm.score) descending, then newest first (paper.submitted descending), then
 *  paper id ascending and version descending, so the order is total and reproducible. */
void ax_rank_sort(ax_entry_t *entries, size_t n);

/*  Period key of unix time t (UTC) for a group_by value: "day" -> "2026-06-01",
 *  "week" -> ISO 8601 week "2026-W23" (2021-01-03 is "2020-W53"), "month" -> "2026-06",
 *  "run" -> "all". Writes a NUL-terminated key into buf. -1 on an unknown group_by or
 *  a buf too small. */
int ax_period_key(int64_t t, const char *group_by, char *buf, size_t size);

/*  Authors as in the seed: all of them when there are at most four, else the first four
 *  and the count of the rest. zh: joined with "、", then "、等N人"
 *  ("Yukun Zhang、Si Dong、Xu Wang、Bo Chen、等10人" is 14 authors); any other language:
 *  "A, B, C, D, et al. (N more)". Zero authors give "". The text is raw (not escaped);
 *  NULL language means English. Caller frees; NULL on OOM. */
char *ax_format_authors(const ax_paper_t *paper, const char *language);

/*  Copy of s as one line of inert Markdown inline text that renders as s: runs of
 *  whitespace (newlines included) fold to one space, the ends are trimmed, control
 *  characters are dropped, and what could start Markdown structure is neutralised:
 *  ` [ ] | always backslash-escaped (no link, image or code span can form); * _ ~ too,
 *  except inside a URL or e-mail token, where GFM would put the backslash into the
 *  link; '<' that could open HTML or an autolink becomes "&lt;" (a backslash is not an
 *  escape for '<' in every Markdown); # at the start or after a space (heading, closing
 *  sequence); & before an entity; > - + = and "1." / "1)" at the start (quote, list,
 *  rule, setext underline); \ before ASCII punctuation (so it stays a backslash).
 *  Parentheses and $ are left alone: without [ ] no link can form, and LaTeX such as
 *  $\alpha$ stays as written. NULL s gives "". Caller frees; NULL on OOM. */
char *ax_md_escape(const char *s);

/*  Writes digest.md for one profile and one period: the first min(n, profile->top_n)
 *  of the already ranked entries (top_n <= 0: all of them). period is the period key,
 *  shown in the heading unless it is NULL, "" or "all". generated_at is unix seconds,
 *  printed in UTC shifted by tz_offset_s (seconds east of UTC, e.g. 28800 for UTC+8);
 *  both are parameters so output is reproducible. Paper times are printed in UTC.
 *  0, or -1 on a write error or OOM. */
int ax_render_digest_md(FILE *out, const ax_profile_t *profile, const char *period,
                        const ax_entry_t *entries, size_t n, int64_t generated_at,
                        int tz_offset_s);

#endif
