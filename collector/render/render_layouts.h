/*  render_layouts.h: the by-category.md and papers/<id>.md renderers of the collector
 *  (SPEC section 5; digest.md is in render.h).
 *
 *  by-category.md follows seed 002 and the other system's real rendering of a day
 *  (tests/data/shared/fixtures/dae/2026-07-01.md) byte for byte: a table of contents with
 *  totals, one section per primary category, and per paper the title link, all authors,
 *  the main category, the TL;DR and a <details> block with Motivation / Method / Result /
 *  Conclusion / Abstract. papers/<id>.md follows seed 001: submission date, the abstract
 *  under its heading, tags, translated / English title, the one-sentence summary and the
 *  arXiv id. Abstracts are whitespace-folded (the real rendering keeps arXiv's hard wraps).
 *
 *  A keyword-only entry (no LLM fields) renders the same layout with the LLM lines left
 *  out: no TL;DR, no Motivation / Method / Result / Conclusion (the <details> block keeps
 *  the abstract), no tags, no translation, no one-sentence summary. Each LLM field that is
 *  missing or blank is left out on its own, so a partial LLM answer shows what it has.
 *
 *  Escaping: every text from arXiv or the LLM goes through ax_md_escape (render.h) where it
 *  lands in Markdown: link texts cannot end the link, nothing opens a heading, list, HTML
 *  tag or autolink, '<' becomes "&lt;" (so "</details>" in an abstract cannot close the
 *  block). A text behind a label is escaped together with the label, so "Method: 1) ..."
 *  keeps its "1)" (it cannot start a list there). The one place where text lands in raw
 *  HTML is the line right under "<summary>": in CommonMark / GFM the <details> HTML block
 *  runs up to the first blank line, so that line is HTML, not Markdown, and gets
 *  ax_md_html_block_escape instead. Category names also become anchors (ids and
 *  fragments), and ids become URLs: see ax_render_by_category_md.
 */
#ifndef AX_RENDER_LAYOUTS_H
#define AX_RENDER_LAYOUTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "paper.h"

/*  Copy of s for a line inside a Markdown HTML block (text the Markdown renderer passes
 *  through as HTML): whitespace folded to single spaces and trimmed (a newline could end
 *  the block: a blank line does), control characters dropped, "&" "<" ">" as "&amp;"
 *  "&lt;" "&gt;", and "[" "]" as "&#91;" "&#93;", so the text renders the same and stays
 *  inert whether the renderer treats the line as HTML (GFM) or, wrongly, as Markdown (no
 *  link can form). No backslashes are added: in HTML they would show. NULL s gives "".
 *  Caller frees; NULL on OOM. */
char *ax_md_html_block_escape(const char *s);

/*  Writes by-category.md for one profile and one period, in the layout of seed 002:
 *  "<div id=toc></div>", "# Table of Contents", one "- [cat](#cat) [Total: N]" line per
 *  category, then per category "<div id='cat'></div>", "# cat [[Back]](#toc)" and its
 *  papers as "### [n] [title](https://arxiv.org/abs/ID)" (no version, like the real one),
 *  "*A,B,C*" (every author, joined by "," without spaces, like the real one),
 *  "Main category: cat", "TL;DR: ..." and the <details> block. The labels are the seed's
 *  English ones in every language (the seed is a Chinese digest with English labels);
 *  only the text of an empty digest follows profile->language.
 *
 *  Papers are grouped by their primary (first) category ("unknown" when they have none).
 *  Sections follow profile->categories, as the real system orders them by its configured
 *  category list: a section's place is the first profile category that names it (exactly,
 *  case-insensitively, or as its archive: "cs" names "cs.AI"); sections the profile does
 *  not name (cross-listed papers, or a profile without categories) follow in order of
 *  first appearance in entries. Within a section papers keep the order of entries (rank
 *  them with ax_rank_sort first); n counts on across sections, 1..n_entries. Every entry
 *  is rendered: top_n limits digest.md only. TL;DR is llm.tldr, else llm.one_sentence.
 *  Anchors ("<div id='...'>" and "(#...)") are the category with every byte outside
 *  [A-Za-z0-9._-] replaced by '_' (real categories are unchanged).
 *
 *  period, generated_at and tz_offset_s are accepted for the same signature as
 *  ax_render_digest_md, but not printed: the layout has no header (the output folder
 *  names the profile and the period). 0, or -1 on a write error, OOM or bad arguments. */
int ax_render_by_category_md(FILE *out, const ax_profile_t *profile, const char *period,
                             const ax_entry_t *entries, size_t n, int64_t generated_at, int tz_offset_s);

/*  Writes papers/<id>.md for one paper in the layout of seed 001, without the web page's
 *  menu and search chrome ("菜单", "关于 🐙 GitHub", "或 搜索:"):
 *
 *      arXiv 提交日期: 2026-05-25                 (paper.submitted, UTC; 未知 when unknown)
 *      📄 Abstract - <English title>
 *      <blank>
 *      <abstract>                                (（无摘要）when there is none)
 *      <blank>
 *      顶级标签: systems, machine learning        (llm.tags_top, when there are some)
 *      详细标签: recommender system, ...          (llm.tags_detail, when there are some)
 *      <blank>                                   (when there was a tag line)
 *      <translated title> / <English title>      (the English title alone without a translation)
 *      <blank>
 *      <blank>                                   (this line and the next four only with
 *      1️⃣ 一句话总结                               llm.one_sentence, else llm.tldr)
 *      <blank>
 *      <one-sentence summary>
 *      <blank>
 *      源自 arXiv: [ID](https://arxiv.org/abs/ID)
 *
 *  Tags are joined by ", " (the page shows them as separate chips; a tag may hold spaces).
 *  The id is a link, so the page leads to the paper; it renders as the seed's text.
 *  Labels are English when profile->language is not zh ("arXiv submission date",
 *  "Top-level tags", "Detailed tags", "1️⃣ One-sentence summary", "From arXiv").
 *  0, or -1 on a write error, OOM or bad arguments. */
int ax_render_paper_md(FILE *out, const ax_profile_t *profile, const ax_entry_t *entry);

/*  The file name of a paper's page: "2606.30776" -> "2606.30776.md", old-style
 *  "hep-th/9901001" -> "hep-th_9901001.md" (every '/' becomes '_'). The id must be
 *  non-empty, start with an ASCII letter or digit and hold only [A-Za-z0-9._/-], so no
 *  name can climb out of papers/ or hide. -1 for any other id, or when buf (size bytes)
 *  is too small; buf is then "" when size > 0. */
int ax_paper_file_name(const char *id, char *buf, size_t size);

#endif
