/*  paper.h: the paper record, the reader profile and a paper's verdict for a profile.
 *
 *  These three structs are the data model every component shares. The broker fills
 *  ax_paper_t from a source, the worker decides an ax_verdict_t per profile, the
 *  collector stores and renders (paper, verdict) pairs. All strings are UTF-8,
 *  NUL-terminated and owned by the struct that holds them; NULL means "absent".
 */
#ifndef AX_PAPER_H
#define AX_PAPER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *id;               /* arXiv id without version: "2602.09386", "hep-th/9901001" */
    int version;            /* latest version number, 1.. (0 = unknown) */
    char *title;            /* whitespace folded, LaTeX kept */
    char **authors;         /* "First Last" each, in paper order */
    size_t n_authors;
    char **affiliations;    /* parallel to authors; NULL = none known; an entry may be ""
                             * (several of one author joined with "; ") */
    char *abstract;         /* whitespace folded, LaTeX kept */
    char **categories;      /* all categories, primary first */
    size_t n_categories;
    int64_t submitted;      /* unix seconds: creation of v1 (0 = unknown) */
    int64_t updated;        /* unix seconds: creation of the latest version */
    char *comments;
    char *journal_ref;
    char *doi;
} ax_paper_t;

/*  A keyword of a profile: the term and its aliases count as one keyword. */
typedef struct {
    char *term;
    char **aliases;
    size_t n_aliases;
    char *company;          /* a hit names the paper's company (may be NULL) */
} ax_keyword_t;

/*  One reader's interest (SPEC section 3). */
typedef struct {
    char *name;             /* identifier: see ax_profile_name_problem */
    char *title;            /* digest heading */
    char *language;         /* "zh", "en", ...: language of LLM output and labels */
    char *interest;         /* free text the LLM scores against */
    char **categories;      /* papers outside these are excluded for the profile */
    size_t n_categories;    /* 0 = every category of the run */
    ax_keyword_t *keywords;
    size_t n_keywords;
    char **exclude;         /* any hit drops the paper */
    size_t n_exclude;
    int min_hits;           /* below this: not sent to the LLM (default 1) */
    int top_n;              /* papers in a digest (default 20) */
} ax_profile_t;

/*  Final state of a paper for one profile. Every paper of a run ends in exactly one. */
typedef enum {
    AX_STATE_NONE = 0,
    AX_STATE_MATCHED,           /* passed the keywords; keyword-only run, no LLM asked */
    AX_STATE_ENRICHED,          /* passed and the LLM answered */
    AX_STATE_BELOW_THRESHOLD,   /* fewer keyword hits than min_hits */
    AX_STATE_EXCLUDED,          /* exclude term hit, or category not in the profile */
    AX_STATE_FAILED,            /* could not be processed: reason says why */
    AX_STATE_COUNT
} ax_state_t;

/*  What the LLM adds (SPEC section 4); all NULL / 0 until issue 4 fills them. */
typedef struct {
    char *title_translated;
    char *one_sentence;
    char *summary;
    char *tldr;
    char *motivation;
    char *method;
    char *result;
    char *conclusion;
    int score;              /* 1..5, 0 = not scored */
    char *score_reason;
    char *company;
    char **tags_top;
    size_t n_tags_top;
    char **tags_detail;
    size_t n_tags_detail;
    char *model;            /* model and prompt version that produced it */
    char *prompt_version;
} ax_llm_t;

/*  The verdict of one profile on one paper. */
typedef struct {
    char *profile;          /* profile name */
    ax_state_t state;
    char *reason;           /* why excluded / below threshold / failed (NULL otherwise) */
    char **hits;            /* distinct keywords hit (their terms), in profile order */
    size_t n_hits;
    char *company;          /* from a keyword with a company (NULL if none) */
    ax_llm_t llm;
} ax_verdict_t;

/*  One paper with its verdict for one profile: what the collector stores and ranks. */
typedef struct {
    ax_paper_t paper;
    ax_verdict_t verdict;
} ax_entry_t;

/*  Name of a state as used in reports and Redis ("matched", "below_threshold", ...). */
const char *ax_state_name(ax_state_t state);
/*  Inverse of ax_state_name; AX_STATE_NONE for an unknown name. */
ax_state_t ax_state_from_name(const char *name);

/*  The file a run's output folder holds beside its profiles' folders (collector). */
#define AX_RUN_REPORT_FILE "report.json"

/*  Why name cannot name a profile, or NULL when it can. A profile's name is the name of
 *  its folder in the run's output and part of Redis keys: 1-64 characters of
 *  [A-Za-z0-9_.-] starting with a letter or digit (so not "." or ".."), and not a file
 *  the run's folder holds itself (AX_RUN_REPORT_FILE). The config and SUBMIT both check
 *  it; the reason is a static string ("must be ..."). */
const char *ax_profile_name_problem(const char *name);

/*  Why a keyword's term or alias, or an exclude term, can never be matched, or NULL:
 *  it must hold a letter or digit (ASCII, or any non-ASCII character: "快手", "café"),
 *  which is what the matcher (worker/match/match.c) needs. Static reason ("must not be empty",
 *  "has no letter or digit"). */
const char *ax_keyword_problem(const char *term);

/*  Why a paper a source built cannot enter a run, or NULL: no id (ids are read with
 *  ax_arxiv_id_split, which accepts only arXiv's forms), or no readable submission date
 *  (it would be dated 1970-01-01 and land in a 1970-01 digest). Every source counts such
 *  a paper malformed with this reason. */
const char *ax_paper_problem(const ax_paper_t *paper);

/*  Free every member and zero the struct; the struct itself is the caller's. */
void ax_paper_clear(ax_paper_t *paper);
void ax_profile_clear(ax_profile_t *profile);
void ax_llm_clear(ax_llm_t *llm);
void ax_verdict_clear(ax_verdict_t *verdict);
void ax_entry_clear(ax_entry_t *entry);

/*  Deep copies into *dst (which is overwritten, not freed). 0 / -1 on OOM. */
int ax_paper_copy(ax_paper_t *dst, const ax_paper_t *src);
int ax_profile_copy(ax_profile_t *dst, const ax_profile_t *src);

/*  Free a NULL-terminated-or-counted string array and NULL the pointer. */
void ax_strv_free(char ***v_p, size_t n);
/*  Deep copy of n strings; NULL on OOM (or when n == 0). */
char **ax_strv_dup(char *const *v, size_t n);
/*  Appends s to the growing array *v (*n used, *cap allocated: 8 first, then doubled);
 *  takes s, and frees it on failure. 0 / -1 on OOM. */
#define AX_STRV_NEXT_CAP(cap) ((cap) ? (cap) * 2 : 8)
int ax_strv_push(char ***v, size_t *n, size_t *cap, char *s);

#endif
