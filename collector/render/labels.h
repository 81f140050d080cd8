/*  labels.h: every word of every output in each language, in one table (labels.c).
 *
 *  One row per language, chosen by the one language rule (lang.h): Chinese for "zh*",
 *  English for everything else. Each output has its part of the row: digest.md (render.c),
 *  the paper pages and by-category.md (render_layouts.c), the static site and the feed
 *  (site.c, atom_feed.c), index.md (output.c). Numbers are printed between a prefix and a
 *  suffix, so no format string comes from the table (the site's status_fmt is filled by
 *  site.js, not by printf).
 */
#ifndef AX_LABELS_H
#define AX_LABELS_H

#include "lang.h"

/*  digest.md (seed 000). */
typedef struct {
    const char *generated;          /* "生成时间" */
    const char *generated_fmt;      /* strftime format of the generation time */
    const char *count;              /* "论文数量" */
    const char *count_mid;          /* between N and T: " 篇（Top " */
    const char *count_end;          /* after T: "）" */
    const char *sort;               /* "排序规则" */
    const char *sort_rule;          /* "按关键词命中数 + 兴趣评分排序" */
    const char *english_title;      /* "英文标题" */
    int english_title_always;       /* 1: the line is there even without a translation */
    const char *authors;            /* "作者" */
    const char *author_sep;         /* "、" */
    const char *more_pre;           /* "等" before the number of further authors */
    const char *more_post;          /* "人" after it */
    const char *submitted;          /* "提交时间" */
    const char *link;               /* "文章链接" */
    const char *link_text;          /* "查看原文" */
    const char *company;            /* "所属公司" */
    const char *unknown;            /* "未知": company, time or authors missing */
    const char *keywords;           /* "命中关键词" */
    const char *interest;           /* "感兴趣评分" */
    const char *score_post;         /* after the score inside 【】: "分" */
    const char *not_scored;         /* the whole value when there is no score */
    const char *summary;            /* "摘要总结" */
    const char *no_summary;         /* neither an LLM summary nor an abstract */
    const char *no_papers;          /* the body of a digest without papers */
} ax_digest_labels_t;

/*  The paper page (seed 001) and by-category.md (seed 002). */
typedef struct {
    const char *submitted;      /* "arXiv 提交日期" */
    const char *abstract;       /* "📄 Abstract - " before the English title */
    const char *no_abstract;    /* the abstract's paragraph when there is none */
    const char *tags_top;       /* "顶级标签" */
    const char *tags_detail;    /* "详细标签" */
    const char *one_sentence;   /* "1️⃣ 一句话总结" */
    const char *source;         /* "源自 arXiv" */
    const char *unknown;        /* missing date */
    const char *no_papers;      /* body of a by-category.md without papers */
} ax_page_labels_t;

/*  The pages of the static site and feed.xml. */
typedef struct {
    const char *digests;     /* heading of the index: "Digests" */
    const char *all_digests; /* back link to the index */
    const char *back_digest; /* back link of a paper page reached from a digest */
    const char *generated;   /* "Generated at" */
    const char *papers_pre;  /* before a paper count */
    const char *papers_post; /* after it: " papers" */
    const char *scored_post; /* after a count of scored papers: " scored" */
    const char *sort_rule;   /* how a digest is ranked */
    const char *search;      /* label of the search box */
    const char *search_hint; /* its placeholder */
    const char *keyword;     /* filter labels */
    const char *score;
    const char *category;
    const char *any;        /* the "no filter" option */
    const char *not_scored; /* a paper without LLM score; the "none" option */
    const char *clear;      /* the reset button */
    const char *status_fmt; /* "Showing {shown} of {total}" (placeholders filled by site.js) */
    const char *no_match;   /* every paper filtered out */
    const char *no_papers;  /* an empty digest */
    const char *authors;    /* paper fields */
    const char *submitted;
    const char *categories;
    const char *keywords;
    const char *interest;
    const char *company;
    const char *tags;
    const char *comments;
    const char *journal_ref;
    const char *links;
    const char *abstract;
    const char *one_sentence; /* LLM sections */
    const char *tldr;
    const char *summary;
    const char *motivation;
    const char *method;
    const char *result;
    const char *conclusion;
    const char *model;
    const char *run;
    const char *feed; /* link to the Atom feed */
} ax_site_labels_t;

/*  index.md of a profile: "<count_pre>N<count_post>" and the links, then a line per
 *  period: "<papers_pre>N<top_mid>T<top_end>" and its links. */
typedef struct {
    const char *count_pre;      /* before the number of digests: "共 " */
    const char *count_post;     /* after it, up to the links (a space included where the language has one) */
    const char *site;           /* link text of the site */
    const char *feed;           /* link text of the feed */
    const char *papers_pre;     /* a period: before its number of papers */
    const char *top_mid;        /* between it and top_n: " 篇（Top " */
    const char *top_end;        /* after top_n */
    const char *digest;         /* link text of digest.md */
    const char *by_category;    /* link text of by-category.md */
} ax_index_labels_t;

typedef struct {
    ax_lang_t lang;             /* the language of this row */
    ax_digest_labels_t digest;
    ax_page_labels_t page;
    ax_site_labels_t site;
    ax_index_labels_t index;
} ax_labels_t;

/*  The row for a profile's language code (NULL: English). Never NULL. */
const ax_labels_t *ax_labels(const char *language);

#endif
