/* curl_https.h -- the lean bootstrap's SQS client reaches libcurl through the HTTPS library.
 *
 * Included before sqs_client.c in the lean build only (cmake/lean.cmake): the
 * libcurl calls the SQS client makes are renamed to vz_https_*, which
 * src/lean/curl_https.c forwards to lib/libvz-curl-https.so (libcurl with
 * OpenSSL), dlopen'ed on the first SQS client.  The Runtime API loop keeps the
 * HTTP-only libcurl linked into the binary, so no function but the endpoint
 * ever maps OpenSSL.
 */
#ifndef VZ_LEAN_CURL_HTTPS_H
#define VZ_LEAN_CURL_HTTPS_H

#include <curl/curl.h>

/* What src/lean/curl_https.c defines: libcurl's functions, same signatures, other names. */
CURLcode vz_https_global_init(long flags);
CURL *vz_https_easy_init(void);
void vz_https_easy_cleanup(CURL *curl);
void vz_https_easy_reset(CURL *curl);
CURLcode vz_https_easy_perform(CURL *curl);
CURLcode vz_https_easy_setopt(CURL *curl, CURLoption option, ...);
CURLcode vz_https_easy_getinfo(CURL *curl, CURLINFO info, ...);
const char *vz_https_easy_strerror(CURLcode code);
struct curl_slist *vz_https_slist_append(struct curl_slist *list, const char *s);
void vz_https_slist_free_all(struct curl_slist *list);

/* curl.h makes curl_easy_setopt and curl_easy_getinfo macros (type checks): replaced here. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init vz_https_global_init
#define curl_easy_init vz_https_easy_init
#define curl_easy_cleanup vz_https_easy_cleanup
#define curl_easy_reset vz_https_easy_reset
#define curl_easy_perform vz_https_easy_perform
#define curl_easy_setopt vz_https_easy_setopt
#define curl_easy_getinfo vz_https_easy_getinfo
#define curl_easy_strerror vz_https_easy_strerror
#define curl_slist_append vz_https_slist_append
#define curl_slist_free_all vz_https_slist_free_all

#endif
