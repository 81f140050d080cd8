/*  lang.h: the one rule for what a profile's `language` code means.
 *
 *  "zh", "zh-CN", "zh_Hans", "ZH-tw" are Chinese (Traditional when the rest names Hant,
 *  TW, HK or MO); "en", "en-GB", NULL and "" are English; any other code ("pt-BR", "zhx",
 *  "english") is another language. The digests' labels, the LLM prompt's template and
 *  every output that depends on the language ask this module, so they never disagree.
 */
#ifndef AX_LANG_H
#define AX_LANG_H

typedef enum {
    AX_LANG_EN,             /* English, also the default */
    AX_LANG_ZH,             /* Chinese */
    AX_LANG_OTHER           /* another language: English labels, the LLM told to write in it */
} ax_lang_t;

ax_lang_t ax_lang_of(const char *code);

/*  1 when code is Chinese in Traditional characters (zh-Hant, zh-TW, zh-HK, zh-MO). */
int ax_lang_traditional(const char *code);

#endif
