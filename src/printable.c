/*
 * printable.c: the bounded printable copies of printable.h.
 *
 * Replacing rather than dropping what cannot be shown keeps the length and shape of a message
 * recognisable ("bad?value" rather than "badvalue"); the token copy drops instead, because a
 * code is matched and compared, and a '?' in it would only mislead.
 */
#include "haf/printable.h"

void
printable_copy(char *dst, size_t dst_len, struct span v)
{
    size_t o = 0;

    if (dst == NULL || dst_len == 0)
        return;
    for (size_t i = 0; i < v.len && o + 1 < dst_len; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (ch >= 0x20 && ch < 0x7f)
            dst[o++] = (char)ch;
        else if (ch < 0x20 || ch == 0x7f)
            dst[o++] = ' ';
        else
            dst[o++] = '?';
    }
    dst[o] = '\0';
}

void
printable_token(char *dst, size_t dst_len, struct span v)
{
    size_t o = 0;

    if (dst == NULL || dst_len == 0)
        return;
    for (size_t i = 0; i < v.len && o + 1 < dst_len; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '-' || ch == '_')
            dst[o++] = (char)ch;
    }
    dst[o] = '\0';
}
