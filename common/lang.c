/*  lang.c: the one language rule (see lang.h). */
#define _GNU_SOURCE
#include "lang.h"

#include <string.h>
#include <strings.h>

/*  1 when code is the two letters of base, alone or followed by '-' or '_'. */
static int s_is(const char *code, const char *base)
{
    return strncasecmp(code, base, 2) == 0 && (code[2] == '\0' || code[2] == '-' || code[2] == '_');
}

ax_lang_t ax_lang_of(const char *code)
{
    if (!code || !*code)
        return AX_LANG_EN;
    if (s_is(code, "zh"))
        return AX_LANG_ZH;
    return s_is(code, "en") ? AX_LANG_EN : AX_LANG_OTHER;
}

int ax_lang_traditional(const char *code)
{
    if (ax_lang_of(code) != AX_LANG_ZH)
        return 0;
    return strcasestr(code + 2, "hant") || strcasestr(code + 2, "tw") || strcasestr(code + 2, "hk") ||
           strcasestr(code + 2, "mo");
}
