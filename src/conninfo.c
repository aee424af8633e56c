/* conninfo.c -- DATABASE_URL checked before use, and libpq's messages scrubbed (see conninfo.h).
 *
 * The check runs PQconninfoParse (libpq's own parser, so nothing libpq accepts
 * is refused) and adds one rule libpq lacks: a URL's user information holds at
 * most one '@' (an unescaped '@' in a password makes its tail the host name).
 * When libpq refuses the string, its message quotes the string; the reason is
 * rebuilt from what kind of error it is and which part of the URL holds it. */
#include "vz/conninfo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* The parts of a URL "scheme://userinfo@hosts/dbname?query", as offsets into it. */
typedef struct url_parts {
    size_t auth, at, hosts_end; /* at == auth when there is no userinfo */
    int ats;                    /* '@' in the authority */
} url_parts;

static void hide_quotes(char *msg, size_t size);

static bool is_uri(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

static url_parts split(const char *url)
{
    url_parts p = {0, 0, 0, 0};
    p.auth = (size_t)(strstr(url, "://") - url) + 3;
    size_t end = p.auth + strcspn(url + p.auth, "/?");
    p.hosts_end = end;
    p.at = p.auth;
    for (size_t i = p.auth; i < end; i++)
        if (url[i] == '@') {
            p.ats++;
            p.at = i + 1;
        }
    return p;
}

/* Which part of the URL the byte at offset i is in, for a person. */
static const char *part_at(const char *url, const url_parts *p, size_t i, char *buf, size_t n)
{
    if (i < p->at) {
        const char *colon = memchr(url + p->auth, ':', p->at - p->auth);
        return colon && i > (size_t)(colon - url) ? "the password" : "the user name";
    }
    if (i < p->hosts_end)
        return "the host and port";
    const char *q = strchr(url + p->hosts_end, '?');
    if (!q || i < (size_t)(q - url))
        return "the database name";
    /* the query parameter holding i: name it unless it is the password */
    size_t start = i;
    while (start > (size_t)(q - url) + 1 && url[start - 1] != '&')
        start--;
    size_t klen = strcspn(url + start, "=&");
    if (klen == 0 || klen > 40 || strncmp(url + start, "password", klen) == 0 || start + klen > i)
        return "a query parameter's value";
    snprintf(buf, n, "the value of query parameter \"%.*s\"", (int)klen, url + start);
    for (char *c = buf; *c; c++)
        if (!isprint((unsigned char)*c))
            *c = '?';
    return buf;
}

static size_t bad_percent(const char *url)
{
    for (size_t i = 0; url[i]; i++)
        if (url[i] == '%' && !(isxdigit((unsigned char)url[i + 1]) && isxdigit((unsigned char)url[i + 2])))
            return i;
    return (size_t)-1;
}

/* libpq's message without anything it quotes: invalid percent-encoded token: "(hidden)". */
static void reason_of(const char *msg, char *out, size_t n)
{
    snprintf(out, n, "%s", msg ? msg : "no message from libpq");
    out[strcspn(out, "\n")] = '\0';
    hide_quotes(out, n);
}

bool vz_conninfo_check(const char *url, char *why, size_t n)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &errmsg);
    if (opts) {
        PQconninfoFree(opts);
        if (!is_uri(url))
            return true;
        url_parts p = split(url);
        if (p.ats <= 1)
            return true;
        snprintf(why, n,
                 "DATABASE_URL has %d unescaped '@' before its host: an '@' in the user name or password "
                 "must be written %%40",
                 p.ats);
        return false;
    }
    char reason[256];
    reason_of(errmsg, reason, sizeof reason);
    /* the kind of error, from libpq's own words (before its quotes were hidden) */
    bool percent = errmsg && strstr(errmsg, "percent-encoded"), ipv6 = errmsg && strstr(errmsg, "IPv6");
    bool query = errmsg && (strstr(errmsg, "query parameter") || strstr(errmsg, "connection option"));
    PQfreemem(errmsg);
    if (is_uri(url)) {
        char where[96];
        url_parts p = split(url);
        size_t bad = bad_percent(url);
        const char *part = percent && bad != (size_t)-1 ? part_at(url, &p, bad, where, sizeof where) : NULL;
        if (part && part != where)
            snprintf(where, sizeof where, "%s", part);
        else if (!part)
            snprintf(where, sizeof where, "%s",
                     ipv6    ? "the host (an IPv6 address opened with '[' must be closed with ']')"
                     : query ? "a query parameter"
                             : "the URL");
        snprintf(why, n, "DATABASE_URL is not a valid connection URL: %s is malformed (libpq: %s)", where, reason);
        return false;
    }
    snprintf(why, n, "DATABASE_URL is not a valid connection string (libpq: %s)", reason);
    return false;
}

/* Every occurrence of secret (slen bytes) in msg becomes asterisks (three, or fewer for a
 * shorter secret): the message never grows. */
static void replace_all(char *msg, const char *secret, size_t slen)
{
    if (!secret || slen < 1)
        return;
    size_t wlen = slen < 3 ? slen : 3;
    char *p = msg;
    /* memmem: secret need not end where its slen bytes do (a password inside the URL) */
    while ((p = memmem(p, strlen(p), secret, slen)) != NULL) {
        memset(p, '*', wlen);
        memmove(p + wlen, p + slen, strlen(p + slen) + 1);
        p += wlen;
    }
}

/* Quoted text longer than two characters (libpq quotes the whole connection string in its
 * parse errors) becomes "(hidden)"; short quotes such as "]" or "=" stay. */
static void hide_quotes(char *msg, size_t size)
{
    char out[512];
    size_t o = 0;
    const char *p = msg;
    while (*p && o + 12 < sizeof out) {
        const char *close = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (*p == '"' && (!close || close - p - 1 > 2)) {
            memcpy(out + o, "\"(hidden)\"", 10);
            o += 10;
            p = close ? close + 1 : p + strlen(p);
            continue;
        }
        const char *stop = close ? close + 1 : p + 1; /* a short quote is copied whole */
        while (p < stop && o + 12 < sizeof out)
            out[o++] = *p++;
    }
    if (o >= size)
        o = size - 1;
    out[o] = '\0';
    memcpy(msg, out, o + 1);
}

void vz_conninfo_scrub(char *msg, const char *url)
{
    if (!msg)
        return;
    const char *env = getenv("PGPASSWORD");
    if (env && *env)
        replace_all(msg, env, strlen(env));
    if (url && *url) {
        char *errmsg = NULL;
        PQconninfoOption *opts = PQconninfoParse(url, &errmsg);
        PQfreemem(errmsg);
        for (PQconninfoOption *o = opts; o && o->keyword; o++)
            if (o->val && *o->val && strcmp(o->keyword, "password") == 0)
                replace_all(msg, o->val, strlen(o->val));
        PQconninfoFree(opts);
        if (is_uri(url)) {
            /* the raw user information, as typed (escaped or not) */
            url_parts p = split(url);
            const char *colon = memchr(url + p.auth, ':', p.at > p.auth ? p.at - p.auth : 0);
            if (colon && p.at > (size_t)(colon - url) + 2) {
                size_t len = p.at - 1 - (size_t)(colon - url) - 1;
                replace_all(msg, colon + 1, len);
            }
        }
        replace_all(msg, url, strlen(url));
    }
}
