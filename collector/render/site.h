/*  site.h: the static HTML site of one profile's digests (SPEC section 5).
 *
 *  A site is a folder that works opened straight from disk (file://) and from any static
 *  web server, with no external resource at all (no CDN, font or remote image):
 *
 *    index.html                    the digests by date, newest first, with their counts
 *    digest-<period>.html          one page per digest: the ranked papers, filters, search
 *    papers/<id>.html              one page per paper ("hep-th/9901001" -> hep-th_9901001.html)
 *    assets/site.css, site.js      shared by every page, linked relatively
 *
 *  Every link between pages is relative; the only absolute links are to the papers on
 *  arxiv.org. The filter data of a digest lives in the page itself (data-* attributes of
 *  each paper), never in a JSON file a file:// page could not fetch. Without JavaScript a
 *  digest shows every paper; with it, a digest filters by keyword hit, by LLM score, by
 *  category and by free text, from the form or from the URL:
 *
 *    digest-2026-06.html#kw=ranking&score=4&cat=cs.IR&q=user+intent
 *
 *  kw: a keyword the verdict hit (case-insensitive); score: N = LLM score >= N (1..5),
 *  "none" = papers without a score; cat: one of the paper's categories; q: words that must
 *  all occur in the paper's card (title, authors, hits, TL;DR, abstract). The query string
 *  (?kw=...) works too; the fragment wins where both set a filter. Changing the form
 *  rewrites the fragment, so a filtered view can be bookmarked.
 *
 *  Every text from arXiv or the LLM is HTML-escaped; LaTeX stays as written ($...$ shown as
 *  text in a .tex span, \emph{x} and friends as <em>x</em>), never as markup.
 */
#ifndef AX_SITE_H
#define AX_SITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "labels.h"
#include "paper.h"

typedef struct ax_site ax_site_t;

#define AX_SITE_PERIOD_MAX 64 /* bytes of a period key */
#define AX_SITE_ID_MAX 200    /* bytes of a paper id that gets a page */

/*  Starts a site in dir (created with its parents if needed) for one profile. The profile
 *  is read now (name, title, language) and not kept. run names the run (shown in the page
 *  footer). generated_at: unix seconds shown as the generation time, a parameter so output
 *  is reproducible. NULL with *err (caller frees) on failure. */
ax_site_t *ax_site_open(const char *dir, const ax_profile_t *profile, const char *run, int64_t generated_at,
                        char **err);

/*  Links the index page to an Atom feed at href (relative to dir, e.g. "feed.xml"), which
 *  the caller writes (atom_feed.h). Without it the index has no feed link. 0 / -1 on OOM. */
int ax_site_set_feed(ax_site_t *site, const char *href);

/*  Writes the page of one digest and the page of each of its papers. period is the
 *  period key ("2026-06-01", "2026-W23", "2026-06", "all"; [A-Za-z0-9_.-], at most 64
 *  bytes, each period once per site). entries: the n papers the digest shows, already
 *  ranked (render.h ax_rank_sort) and cut to top_n by the caller; borrowed. A paper in
 *  several digests gets one page, rewritten identically. 0, or -1 with *err. */
int ax_site_add_digest(ax_site_t *site, const char *period, const ax_entry_t *entries, size_t n, char **err);

/*  Writes index.html and the assets, then frees the site and NULLs *site_p (which may
 *  hold NULL). Every file is written to a temporary name and renamed, so a web server
 *  never serves half a page. 0, or -1 with *err; the site is freed either way. */
int ax_site_close(ax_site_t **site_p, char **err);

/*  File name of a digest page relative to the site folder: "digest-<period>.html" into buf.
 *  -1 when period is not a valid key or buf is too small. For the feed's links. */
int ax_site_digest_file(const char *period, char *buf, size_t size);

/*  File name of a paper's page relative to the site folder: "papers/<id>.html" with every
 *  byte of id outside [A-Za-z0-9.-] as '_' (no '/' from an old-style id). -1 when id is
 *  NULL, empty, longer than 200 bytes or buf is too small. */
int ax_site_paper_file(const char *id, char *buf, size_t size);

/*  The escapers every page and the feed use. Text is read as UTF-8: an invalid sequence
 *  is written as U+FFFD, and control characters other than tab, newline and carriage
 *  return are dropped (XML 1.0 cannot hold them), so the output is valid UTF-8 HTML/XML.
 *  NULL s writes nothing. 0, or -1 on a write error. */

/*  s as text or attribute value: & < > " ' become entities. */
int ax_html_put_text(FILE *out, const char *s);

/*  s (a title or abstract) as readable inert HTML: escaped as ax_html_put_text, math
 *  ($...$, $$...$$, \(...\)) kept as written inside <span class="tex">, and \emph{x},
 *  \textit{x}, \textbf{x}, \texttt{x} whose argument has no braces or math written as
 *  <em>, <em>, <strong>, <code> around the escaped argument. No other markup is emitted. */
int ax_html_put_tex(FILE *out, const char *s);

/*  s percent-encoded for a URL query or fragment value: every byte outside
 *  [A-Za-z0-9._~-] as %XX (space too). The result holds no character HTML escapes. */
int ax_url_put_component(FILE *out, const char *s);

/*  The comparison that orders periods newest first (index.html and feed.xml): "all" first,
 *  then dated keys by their last day descending ("2026-06" ends on 2026-06-30, "2026-W27"
 *  on its Sunday), a shorter period first when two end on the same day, then keys that
 *  are no date, by key descending. A qsort-style result for two keys. */
int ax_site_period_cmp(const char *a, const char *b);

/*  Link to a paper on arXiv: "https://arxiv.org/<kind>/<id>[v<version>]", kind "abs" or
 *  "pdf", the id percent-encoded outside [A-Za-z0-9._/-] so it cannot leave the URL. */
int ax_arxiv_put_url(FILE *out, const char *kind, const ax_paper_t *paper);

/*  The stylesheet and the script of every site (site_assets.c), written as
 *  assets/site.css and assets/site.js. Neither loads anything. */
extern const char ax_site_css[];
extern const char ax_site_js[];

#endif
