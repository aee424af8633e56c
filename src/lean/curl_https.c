/* curl_https.c -- libcurl with TLS for the lean bootstrap's SQS client, loaded on first use.
 *
 * The lean binary links an HTTP-only libcurl for the Runtime API (no TLS
 * library to load before the first GET /next).  The SQS client, used by the
 * endpoint function alone, needs HTTPS and SigV4: its libcurl calls (renamed by
 * curl_https.h) land here and go to <directory of the executable>/lib/
 * libvz-curl-https.so, the same Debian libcurl built with OpenSSL (the image's
 * libssl.so.3), dlopen'ed once.  When it cannot be loaded, an ERROR line names
 * the library, the path tried and the loader's reason, and every call fails
 * (curl_global_init with CURLE_FAILED_INIT), so the SQS client reports it and
 * the request fails alone.
 */
#include <curl/curl.h>

#include "curl_https.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vz/log.h"

#define VZ_HTTPS_LIBRARY "libvz-curl-https.so"

/* The real libcurl functions, by their real names, in the loaded library. */
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} https;

static pthread_once_t https_once = PTHREAD_ONCE_INIT;
static int https_loaded;

static void https_load(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (!slash) {
        vz_log(VZ_LOG_ERROR, NULL,
               "cannot load the HTTPS library %s: /proc/self/exe does not say where the executable is",
               VZ_HTTPS_LIBRARY);
        return;
    }
    *slash = '\0';
    snprintf(path, sizeof path, "%s/lib/%s", exe, VZ_HTTPS_LIBRARY);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        vz_log(VZ_LOG_ERROR, NULL, "cannot load the HTTPS library %s (tried %s): %s", VZ_HTTPS_LIBRARY, path,
               why ? why : "no reason given");
        return;
    }
    struct {
        void **slot;
        const char *name;
    } table[] = {
        {(void **)&https.global_init, "curl_global_init"},   {(void **)&https.easy_init, "curl_easy_init"},
        {(void **)&https.easy_cleanup, "curl_easy_cleanup"}, {(void **)&https.easy_reset, "curl_easy_reset"},
        {(void **)&https.easy_perform, "curl_easy_perform"}, {(void **)&https.easy_setopt, "curl_easy_setopt"},
        {(void **)&https.easy_getinfo, "curl_easy_getinfo"}, {(void **)&https.easy_strerror, "curl_easy_strerror"},
        {(void **)&https.slist_append, "curl_slist_append"}, {(void **)&https.slist_free_all, "curl_slist_free_all"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        *table[i].slot = dlsym(h, table[i].name);
        if (!*table[i].slot) {
            vz_log(VZ_LOG_ERROR, NULL, "the HTTPS library %s has no %s", path, table[i].name);
            dlclose(h);
            return;
        }
    }
    https_loaded = 1;
}

CURLcode vz_https_global_init(long flags)
{
    pthread_once(&https_once, https_load);
    return https_loaded ? https.global_init(flags) : CURLE_FAILED_INIT;
}

/* The functions below are reached only after vz_https_global_init succeeded (the SQS client's order). */
CURL *vz_https_easy_init(void)
{
    return https_loaded ? https.easy_init() : NULL;
}

void vz_https_easy_cleanup(CURL *curl)
{
    if (https_loaded)
        https.easy_cleanup(curl);
}

void vz_https_easy_reset(CURL *curl)
{
    if (https_loaded)
        https.easy_reset(curl);
}

CURLcode vz_https_easy_perform(CURL *curl)
{
    return https_loaded ? https.easy_perform(curl) : CURLE_FAILED_INIT;
}

/* One argument, whose type the option's number range gives (as libcurl's own setopt reads it). */
CURLcode vz_https_easy_setopt(CURL *curl, CURLoption option, ...)
{
    if (!https_loaded)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    /* long and curl_off_t are one type on LP64 but not on every ABI: two branches on purpose */
    if (option < CURLOPTTYPE_OBJECTPOINT)
        // NOLINTNEXTLINE(bugprone-branch-clone)
        rc = https.easy_setopt(curl, option, va_arg(ap, long));
    else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
        rc = https.easy_setopt(curl, option, va_arg(ap, curl_off_t));
    else /* object, function and blob pointers */
        rc = https.easy_setopt(curl, option, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode vz_https_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    if (!https_loaded)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = https.easy_getinfo(curl, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

const char *vz_https_easy_strerror(CURLcode code)
{
    return https_loaded ? https.easy_strerror(code) : "the HTTPS library (" VZ_HTTPS_LIBRARY ") is not loaded";
}

struct curl_slist *vz_https_slist_append(struct curl_slist *list, const char *s)
{
    return https_loaded ? https.slist_append(list, s) : NULL;
}

void vz_https_slist_free_all(struct curl_slist *list)
{
    if (https_loaded)
        https.slist_free_all(list);
}
