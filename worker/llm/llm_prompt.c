/*  llm_prompt.c: the request side of LLM enrichment (see llm.h): the prompt templates, the
 *  chat-completions request body, the cache key that identifies a request and the token
 *  estimate that reserves rate-limit room for it.
 *
 *  The templates are product text: what they ask for is what the digests show (seeds 000-002:
 *  translated title, one-sentence summary, a 150-300 字 summary, TL;DR, motivation / method /
 *  result / conclusion, a 1-5 interest score with its reason against the reader's interest,
 *  the company, top-level and detailed tags). There is one Chinese and one English template;
 *  any other language gets the English one told to write in that language. Changing a
 *  template's text changes answers: bump AX_PROMPT_VERSION (llm.h) so the cache does not
 *  serve answers to the old prompt.
 *
 *  Message layout, chosen for the providers' prompt caches (DeepSeek, OpenAI cache on a
 *  shared prefix): the system message depends only on the profile (language, interest), so
 *  it is identical for every paper of a run; the paper comes after it in the user message.
 */
#define _GNU_SOURCE
#include "llm.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "lang.h"
#include "text.h"

#define S_MAX_AUTHORS 20                /* authors listed; a collaboration has thousands */
#define S_MAX_PREVIOUS 8000             /* bytes of a previous answer shown in a repair */

/* ------------------------------------------------------------------ templates */

static const char s_zh_intro[] =
    "你是一名资深研究员，为中文读者精读 arXiv 论文，并撰写准确、简洁、信息密集的中文解读。\n\n";

static const char s_zh_no_interest[] =
    "读者没有给出具体的研究兴趣：评分时按论文对其所在领域研究者的总体价值打分。\n\n";

static const char s_zh_fields[] =
    "用户会给出一篇论文的元数据：arXiv ID、Title（标题）、Authors（作者）、Categories（分类）、"
    "Comments（备注）和 Abstract（摘要）。只依据这些内容作答，不要编造其中没有的信息、数字或结论。\n\n"
    "只输出一个 JSON 对象，不要输出任何其他文字，也不要放进 Markdown 代码块。"
    "对象必须包含以下全部 13 个字段：\n"
    "- \"title_translated\"：标题的中文翻译，准确通顺；模型名、方法名、数据集名和缩写保留英文原文，"
    "例如 \"SMES：通过专家稀疏化实现可扩展的多任务推荐\"。\n"
    "- \"one_sentence\"：一句话总结（60～120 字）：论文提出了什么、用什么方法、解决了什么问题。\n"
    "- \"summary\"：摘要总结，一段 150～300 字的文字：要解决的问题、核心方法与创新点、"
    "主要实验结果（保留摘要中的关键数字）以及部署应用情况。\n"
    "- \"tldr\"：TL;DR，1～2 句话，不超过 100 字。\n"
    "- \"motivation\"：研究动机（1～3 句）：现有方法的不足，以及本文要解决的问题。\n"
    "- \"method\"：方法（1～3 句）：技术路线和关键设计。\n"
    "- \"result\"：结果（1～3 句）：在哪些数据集或场景上验证、取得了什么效果（保留关键数字）。\n"
    "- \"conclusion\"：结论（1～3 句）：论文的贡献与意义；摘要提到局限时一并说明。\n"
    "- \"score\"：1～5 的整数，论文与读者研究兴趣的相关程度：5 = 论文直接研究读者兴趣中的核心问题；"
    "4 = 高度相关，方法或结论可以直接借鉴；3 = 部分相关；2 = 只有少量交集；1 = 基本无关。"
    "只评相关程度，不评论文质量；打分要严格，只有与兴趣直接对口的论文才给 4～5 分。\n"
    "- \"score_reason\"：一句话评分理由，对照读者的研究兴趣说明给这个分的原因。\n"
    "- \"company\"：论文所属的公司（企业），用其常用名称（如“快手”“阿里巴巴”“Airbnb”“Google”）。"
    "只有当作者单位、备注或摘要明确提到某家公司，"
    "或提到属于某家公司的产品或平台时才填写（例如“部署在快手短视频平台”填“快手”，"
    "“Taobao”填“阿里巴巴”）；多家公司用“、”分隔；高校和科研院所不算公司；"
    "无法确定时填“未知”，不要猜测。\n"
    "- \"tags_top\"：1～3 个顶级领域标签，英文小写，例如 \"machine learning\"、\"systems\"、"
    "\"computer vision\"。\n"
    "- \"tags_detail\"：3～6 个细分主题标签，英文小写短语，例如 \"generative reranking\"、"
    "\"dense supervision\"。\n\n";

static const char s_zh_style[] =
    "除 tags_top 和 tags_detail 外，所有文本字段都用%s书写；专业术语可在中文后用括号注明英文原文；"
    "数学公式和符号保留 LaTeX 原样，JSON 字符串里的反斜杠和双引号要正确转义。\n\n"
    "输出格式示例（省略号处换成实际内容）：\n"
    "{\"title_translated\": \"…\", \"one_sentence\": \"…\", \"summary\": \"…\", \"tldr\": \"…\", "
    "\"motivation\": \"…\", \"method\": \"…\", \"result\": \"…\", \"conclusion\": \"…\", "
    "\"score\": 4, \"score_reason\": \"…\", \"company\": \"未知\", \"tags_top\": [\"…\"], "
    "\"tags_detail\": [\"…\", \"…\", \"…\"]}\n";

static const char s_en_intro[] =
    "You are a senior researcher who reads arXiv papers closely and writes accurate, concise, "
    "information-dense digests of them.\n\n";

static const char s_en_no_interest[] =
    "The reader gave no specific interest: score the paper by its overall value to researchers "
    "of its field.\n\n";

/* printf format: title instruction, word for unknown. */
static const char s_en_fields[] =
    "The user gives you one paper's metadata: arXiv ID, Title, Authors, Categories, Comments and "
    "Abstract. Base every statement on them only; do not invent facts, numbers or conclusions "
    "that they do not contain.\n\n"
    "Output exactly one JSON object and nothing else: no text before or after it, no Markdown "
    "code fence. It must have all of these 13 fields:\n"
    "- \"title_translated\": %s\n"
    "- \"one_sentence\": one sentence (25-40 words): what the paper proposes, how, and what "
    "problem it solves.\n"
    "- \"summary\": one paragraph of 100-200 words: the problem, the core method and what is "
    "new about it, the main results (keep the key numbers of the abstract) and any deployment.\n"
    "- \"tldr\": TL;DR in one or two sentences, at most 40 words.\n"
    "- \"motivation\": in 1-3 sentences, why this work: what existing methods lack and which "
    "problem the paper addresses.\n"
    "- \"method\": in 1-3 sentences, the approach and its key design choices.\n"
    "- \"result\": in 1-3 sentences, what it was evaluated on and how well it did (keep the key "
    "numbers).\n"
    "- \"conclusion\": in 1-3 sentences, the contribution and what it means; limitations if the "
    "abstract mentions any.\n"
    "- \"score\": an integer from 1 to 5, how relevant the paper is to the reader's interest: "
    "5 = it works on a core problem of the interest; 4 = closely related, its method or findings "
    "can be used directly; 3 = partly related; 2 = only a small overlap; 1 = unrelated. Rate "
    "relevance, not the paper's quality, and be strict: give 4 or 5 only to papers that squarely "
    "match the interest.\n"
    "- \"score_reason\": one sentence that explains the score against the reader's interest.\n"
    "- \"company\": the company (business) the paper comes from, by its common name (e.g. "
    "\"Kuaishou\", \"Alibaba\", \"Airbnb\", \"Google\"). Fill it in only when the "
    "authors' affiliations, the comments or the abstract name a company, or a product or "
    "platform that belongs to one (e.g. \"deployed on Kuaishou's short-video platform\" -> "
    "\"Kuaishou\", \"Taobao\" -> \"Alibaba\"); separate several companies with \", \"; "
    "universities and research institutes are not companies; when you cannot tell, write %s "
    "and do not guess.\n"
    "- \"tags_top\": 1-3 top-level field tags in lowercase English, e.g. \"machine learning\", "
    "\"systems\", \"computer vision\".\n"
    "- \"tags_detail\": 3-6 specific topic tags, short lowercase English phrases, e.g. "
    "\"generative reranking\", \"dense supervision\".\n\n";

static const char s_en_title_en[] =
    "the title exactly as given (it is already in English).";
static const char s_en_title_other[] =
    "the title translated into the output language; keep model, method and dataset names and "
    "acronyms as written.";

/* printf format: language sentence, word for unknown in the example. */
static const char s_en_style[] =
    "%s Keep LaTeX math as written, and escape backslashes and double quotes inside JSON "
    "strings.\n\n"
    "Example of the format (replace the ellipses with the content):\n"
    "{\"title_translated\": \"…\", \"one_sentence\": \"…\", \"summary\": \"…\", \"tldr\": \"…\", "
    "\"motivation\": \"…\", \"method\": \"…\", \"result\": \"…\", \"conclusion\": \"…\", "
    "\"score\": 4, \"score_reason\": \"…\", \"company\": \"%s\", \"tags_top\": [\"…\"], "
    "\"tags_detail\": [\"…\", \"…\", \"…\"]}\n";

static const char s_zh_repair[] =
    "你上一条回答无法使用：%s\n"
    "请重新输出完整、正确的 JSON 对象：包含全部 13 个字段并符合上面的要求，只输出 JSON 本身。";
static const char s_en_repair[] =
    "Your previous answer cannot be used: %s\n"
    "Output the complete, corrected JSON object again: all 13 fields as specified above, and "
    "nothing else.";

/* The interest block, or the no-interest sentence when it is blank. */
static void s_put_interest(FILE *f, const char *interest, ax_lang_t lang)
{
    char *trimmed = interest ? ax_text_fold(interest, strlen(interest)) : NULL;
    if (trimmed && *trimmed)
        fprintf(f, "%s\n<interest>\n%s\n</interest>\n\n",
                lang == AX_LANG_ZH ? "读者的研究兴趣：" : "The reader's research interest:", trimmed);
    else
        fputs(lang == AX_LANG_ZH ? s_zh_no_interest : s_en_no_interest, f);
    free(trimmed);
}

char *ax_llm_system_prompt(const char *language, const char *interest)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    ax_lang_t lang = ax_lang_of(language);
    if (lang == AX_LANG_ZH) {
        fputs(s_zh_intro, f);
        s_put_interest(f, interest, lang);
        fputs(s_zh_fields, f);
        fprintf(f, s_zh_style, ax_lang_traditional(language) ? "繁體中文" : "简体中文");
    } else {
        char sentence[200];
        if (lang == AX_LANG_EN)
            snprintf(sentence, sizeof sentence, "Write plain, precise English.");
        else
            snprintf(sentence, sizeof sentence,
                     "Write every text field except tags_top and tags_detail in the language "
                     "with the code \"%.40s\" (BCP 47).", language);
        fputs(s_en_intro, f);
        s_put_interest(f, interest, lang);
        fprintf(f, s_en_fields, lang == AX_LANG_EN ? s_en_title_en : s_en_title_other,
                lang == AX_LANG_EN ? "\"unknown\"" : "the output language's word for \"unknown\"");
        fprintf(f, s_en_style, sentence, lang == AX_LANG_EN ? "unknown" : "…");
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ------------------------------------------------------------------ request */

/*  The paper as the user message: one labelled line per field, absent fields left out,
 *  the abstract last. */
static char *s_paper_message(const ax_paper_t *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "arXiv ID: %s", p->id ? p->id : "");
    if (p->version > 0)
        fprintf(f, "v%d", p->version);
    fprintf(f, "\nTitle: %s\n", p->title ? p->title : "");
    if (p->n_authors) {
        fputs("Authors: ", f);
        size_t shown = p->n_authors < S_MAX_AUTHORS ? p->n_authors : S_MAX_AUTHORS;
        for (size_t i = 0; i < shown; i++)
            fprintf(f, "%s%s", i ? ", " : "", p->authors[i] ? p->authors[i] : "");
        if (shown < p->n_authors)
            fprintf(f, " and %zu more", p->n_authors - shown);
        fputc('\n', f);
    }
    if (p->n_categories) {
        fputs("Categories: ", f);
        for (size_t i = 0; i < p->n_categories; i++)
            fprintf(f, "%s%s", i ? ", " : "", p->categories[i] ? p->categories[i] : "");
        fputc('\n', f);
    }
    if (p->comments && *p->comments)
        fprintf(f, "Comments: %s\n", p->comments);
    if (p->journal_ref && *p->journal_ref)
        fprintf(f, "Journal reference: %s\n", p->journal_ref);
    fprintf(f, "Abstract: %s", p->abstract ? p->abstract : "");
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Appends {"role": role, "content": content}; takes content (may be NULL: failure). */
static int s_message(json_t *messages, const char *role, char *content)
{
    json_t *m = content ? json_pack("{s:s, s:s}", "role", role, "content", content) : NULL;
    free(content);
    return m ? json_array_append_new(messages, m) : -1;
}

/* {"type":"json_schema","json_schema":{"name","strict":true,"schema"}} or json_object. */
static json_t *s_response_format(int json_schema)
{
    if (!json_schema)
        return json_pack("{s:s}", "type", "json_object");
    json_t *props = json_object(), *required = json_array();
    for (size_t i = 0; props && required && i < AX_LLM_N_FIELDS; i++) {
        const char *name = ax_llm_field_names[i];
        json_t *type;
        if (strcmp(name, "score") == 0)
            type = json_pack("{s:s, s:[iiiii]}", "type", "integer", "enum", 1, 2, 3, 4, 5);
        else if (strncmp(name, "tags_", 5) == 0)
            type = json_pack("{s:s, s:{s:s}}", "type", "array", "items", "type", "string");
        else
            type = json_pack("{s:s}", "type", "string");
        if (json_object_set_new(props, name, type) != 0
            || json_array_append_new(required, json_string(name)) != 0) {
            json_decref(props);
            json_decref(required);
            return NULL;
        }
    }
    if (!props || !required) {
        json_decref(props);
        json_decref(required);
        return NULL;
    }
    return json_pack("{s:s, s:{s:s, s:b, s:{s:s, s:o, s:o, s:b}}}", "type", "json_schema",
                     "json_schema", "name", "paper_digest", "strict", 1, "schema", "type",
                     "object", "properties", props, "required", required,
                     "additionalProperties", 0);
}

/* The repair turn: the previous answer (if any) and the user's correction request. */
static int s_repair_messages(json_t *messages, ax_lang_t lang, const char *previous,
                             const char *error)
{
    if (previous) {
        size_t n = strlen(previous);
        while (n && ax_is_space((unsigned char) previous[n - 1]))
            n--;
        const char *p = previous;
        while (n && ax_is_space((unsigned char) *p))
            p++, n--;
        if (n > S_MAX_PREVIOUS) {
            n = S_MAX_PREVIOUS;
            while (n && ((unsigned char) p[n] & 0xC0) == 0x80)
                n--;
        }
        if (n && s_message(messages, "assistant", strndup(p, n)) != 0)
            return -1;
    }
    char *text = NULL;
    if (asprintf(&text, lang == AX_LANG_ZH ? s_zh_repair : s_en_repair, error) < 0)
        text = NULL;
    return s_message(messages, "user", text);
}

/*  The body, built as a whole with jansson, with user_message as the paper's message. */
static char *s_body(const ax_llm_opts_t *o, char *user_message, const char *previous_answer,
                    const char *repair_error)
{
    ax_lang_t lang = ax_lang_of(o->language);
    json_t *body = json_object(), *messages = json_array();
    int failed = !body || !messages;
    failed = failed || s_message(messages, "system", ax_llm_system_prompt(o->language, o->interest));
    if (failed)
        free(user_message);             /* s_message takes it only when it is called */
    else
        failed = s_message(messages, "user", user_message)
                 || (repair_error && s_repair_messages(messages, lang, previous_answer, repair_error));
    failed = failed || json_object_set_new(body, "model", json_string(o->model))
             || json_object_set(body, "messages", messages)
             || json_object_set_new(body, "response_format", s_response_format(o->json_schema))
             || (o->temperature >= 0 && json_object_set_new(body, "temperature", json_real(o->temperature)))
             || (o->max_tokens > 0 && json_object_set_new(body, "max_tokens", json_integer(o->max_tokens)))
             || json_object_set_new(body, "stream", json_false());
    char *text = failed ? NULL : json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(messages);
    json_decref(body);
    return text;
}

char *ax_llm_request_body_uncached(const ax_llm_opts_t *o, const ax_paper_t *paper,
                                   const char *previous_answer, const char *repair_error)
{
    if (!o || !o->model || !paper)
        return NULL;
    return s_body(o, s_paper_message(paper), previous_answer, repair_error);
}

/*  s as the inside of a JSON string, exactly as jansson's json_dumps writes it (", \ and
 *  control characters escaped, the rest as is), appended to f. -1 when s is not valid
 *  UTF-8 (jansson refuses such strings too): overlong forms, surrogates, > U+10FFFF. */
static int s_json_escape(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *) s, *run = p;
    for (;;) {
        unsigned c = *p;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            p++;
            continue;
        }
        if (p > run)
            fwrite(run, 1, (size_t) (p - run), f);
        if (c == 0)
            return 0;
        if (c >= 0x80) {
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            uint32_t cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
            if (c < 0xC2 || c > 0xF4)
                return -1;
            for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xC0) != 0x80)
                    return -1;
                cp = (cp << 6) | (p[i] & 0x3F);
            }
            if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                (cp >= 0xD800 && cp <= 0xDFFF))
                return -1;
            fwrite(p, 1, n, f);
            p += n;
        } else {
            static const char short_form[] = {['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f',
                                              ['\r'] = 'r', ['"'] = '"', ['\\'] = '\\'};
            if (c < sizeof short_form && short_form[c])
                fprintf(f, "\\%c", short_form[c]);
            else
                fprintf(f, "\\u%04X", c);
            p++;
        }
        run = p;
    }
}

/*  The parts of a first request's body around the paper message, for one set of options:
 *  dumped once by jansson with a marker for the message and cut there, so a request
 *  encodes only its paper. A handful of (model, language, interest, format) frames are
 *  kept: one per profile of the runs a worker serves. Not thread-safe (one per worker). */
#define S_FRAMES 16
#define S_MARKER "\"\\u0001arxdigest-paper\\u0001\""
typedef struct {
    char *model, *language, *interest;
    int json_schema, max_tokens;
    double temperature;
    char *head, *tail;
} s_frame_t;
static s_frame_t s_frames[S_FRAMES];
static size_t s_frame_next;

static int s_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const s_frame_t *s_frame(const ax_llm_opts_t *o)
{
    for (size_t i = 0; i < S_FRAMES; i++) {
        const s_frame_t *fr = &s_frames[i];
        if (fr->head && s_same(fr->model, o->model) && s_same(fr->language, o->language) &&
            s_same(fr->interest, o->interest) && fr->json_schema == o->json_schema &&
            fr->max_tokens == o->max_tokens && fr->temperature == o->temperature)
            return fr;
    }
    char *marker = strdup("\001arxdigest-paper\001");
    char *text = marker ? s_body(o, marker, NULL, NULL) : NULL;
    char *at = text ? strstr(text, S_MARKER) : NULL;
    s_frame_t fr = {0};
    if (!at || strstr(at + 1, S_MARKER) || !(fr.head = strndup(text, (size_t) (at - text))) ||
        !(fr.tail = strdup(at + strlen(S_MARKER))) || !(fr.model = strdup(o->model)) ||
        (o->language && !(fr.language = strdup(o->language))) ||
        (o->interest && !(fr.interest = strdup(o->interest)))) {
        free(fr.head), free(fr.tail), free(fr.model), free(fr.language), free(fr.interest);
        free(text);
        return NULL;                    /* OOM, or the marker shows up elsewhere: no frame */
    }
    free(text);
    fr.json_schema = o->json_schema;
    fr.max_tokens = o->max_tokens;
    fr.temperature = o->temperature;
    s_frame_t *slot = &s_frames[s_frame_next++ % S_FRAMES];
    free(slot->head), free(slot->tail), free(slot->model), free(slot->language), free(slot->interest);
    *slot = fr;
    return slot;
}

char *ax_llm_request_body(const ax_llm_opts_t *o, const ax_paper_t *paper,
                          const char *previous_answer, const char *repair_error)
{
    if (!o || !o->model || !paper)
        return NULL;
    const s_frame_t *fr = repair_error ? NULL : s_frame(o);
    if (!fr)
        return ax_llm_request_body_uncached(o, paper, previous_answer, repair_error);
    char *message = s_paper_message(paper), *text = NULL;
    size_t len = 0;
    FILE *f = message ? open_memstream(&text, &len) : NULL;
    if (!f) {
        free(message);
        return NULL;
    }
    fputs(fr->head, f);
    fputc('"', f);
    int ok = s_json_escape(f, message) == 0;
    fputc('"', f);
    fputs(fr->tail, f);
    free(message);
    if (fclose(f) != 0 || !ok) {
        free(text);
        return NULL;
    }
    return text;
}

/* ------------------------------------------------------------------ cache key, estimate */

static int s_hash_field(EVP_MD_CTX *ctx, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++)
        prefix[i] = (unsigned char) ((uint64_t) n >> (56 - 8 * i));
    return EVP_DigestUpdate(ctx, prefix, sizeof prefix) == 1 && (n == 0 || EVP_DigestUpdate(ctx, s, n) == 1);
}

/*  On a libcrypto failure (OOM) out is "": the caller must then skip the cache, never use
 *  a key that several papers could share. */
void ax_llm_cache_key(const char *model, const char *language, const char *interest,
                      const ax_paper_t *p, char out[65])
{
    char version[24];
    snprintf(version, sizeof version, "%d", p ? p->version : 0);
    const char *fields[] = {"arxdigest-llm-cache", model, AX_PROMPT_VERSION, language, interest,
                            p ? p->id : NULL, version, p ? p->title : NULL, p ? p->abstract : NULL};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < sizeof fields / sizeof *fields; i++)
        ok = s_hash_field(ctx, fields[i]);
    ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 32;
    EVP_MD_CTX_free(ctx);
    out[0] = '\0';
    if (!ok)
        return;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

int ax_llm_estimate_tokens(const char *request_body, int max_tokens)
{
    size_t bytes = request_body ? strlen(request_body) : 0;
    int64_t est = (int64_t) ((bytes + 3) / 4) + (max_tokens > 0 ? max_tokens : 0);
    return est > INT_MAX ? INT_MAX : (int) est;
}
