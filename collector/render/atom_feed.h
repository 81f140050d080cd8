/*  atom_feed.h: feed.xml, an Atom 1.0 feed (RFC 4287) of a profile's latest digests.
 *
 *  One <entry> per digest, newest period first, at most max_entries of them. The feed has
 *  id, title, updated, author, generator and links (self: the feed, alternate: the site's
 *  index.html); each entry has a stable id, a title with the period and the paper count,
 *  updated, an alternate link to the digest page and a <content type="html"> listing the
 *  papers (title linked to arXiv, authors, score, keyword hits, TL;DR).
 *
 *  Ids are tag: URIs (RFC 4151) built from run, profile and period only, so rendering a run
 *  again gives the same ids and a feed reader shows nothing new:
 *
 *    feed   tag:arxdigest,2026:<run>/<profile>
 *    entry  tag:arxdigest,2026:<run>/<profile>/<period>
 *
 *  (run and profile percent-encoded outside [A-Za-z0-9._~-]). An entry's updated is the
 *  latest paper time (updated, else submitted) of its digest, so re-rendering does not
 *  mark it changed; generated_at when no paper has a time. The feed's updated is the
 *  latest of generated_at and its entries'.
 *
 *  Links are relative hrefs (resolved against the feed's own URL, so feed.xml belongs in
 *  the site folder) unless opts->base_url is set; then every link is base_url + "/" + href.
 *  The file is written at close, through a temporary name and a rename.
 */
#ifndef AX_ATOM_FEED_H
#define AX_ATOM_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "paper.h"

typedef struct ax_atom_feed ax_atom_feed_t;

typedef struct {
    const char *base_url; /* "https://example.org/digests/recsys" (no trailing '/' needed);
                           * NULL or "": relative links */
    size_t max_entries;   /* digests kept, newest first; 0: 20 */
} ax_atom_feed_opts_t;

/*  Starts the feed of one profile, to be written to path (its folder must exist). The
 *  profile is read now (name, title, language) and not kept. opts may be NULL (defaults).
 *  generated_at: unix seconds, a parameter so output is reproducible. NULL with *err. */
ax_atom_feed_t *ax_atom_feed_open(const char *path, const ax_profile_t *profile, const char *run,
                                  int64_t generated_at, const ax_atom_feed_opts_t *opts, char **err);

/*  Adds one digest: period key (as for ax_site_add_digest), digest_href the digest page
 *  relative to the feed (ax_site_digest_file), and its n ranked entries (borrowed; the
 *  entry is rendered now). Digests may come in any order; each period once.
 *  0, or -1 on a bad argument, a repeated period or OOM. */
int ax_atom_feed_add(ax_atom_feed_t *f, const char *period, const char *digest_href,
                     const ax_entry_t *entries, size_t n);

/*  Writes the feed, frees it and NULLs *f_p (which may hold NULL). 0, or -1 with *err;
 *  freed either way. */
int ax_atom_feed_close(ax_atom_feed_t **f_p, char **err);

#endif
