/* pq_loader.c -- the lean bootstrap's libpq: loaded from the zip's lib/ on first database use.
 *
 * Only the lean binary (scripts/package) links this file, in place of -lpq: it
 * defines the libpq functions db.c calls and forwards each through a pointer
 * that dlsym fills when the first connection starts.  A function that never
 * touches the database (the endpoint, a handler without SQL) never maps libpq
 * nor the dozen libraries libpq needs, and starts that much sooner.
 *
 * The library is <directory of the executable>/lib/libpq.so.5; its own
 * dependencies resolve through the executable's DT_RPATH ($ORIGIN/lib) first.
 * When it cannot be loaded, PQconnectStartParams hands back a connection that
 * is already failed: PQstatus says CONNECTION_BAD and PQerrorMessage names the
 * library, the path tried and the loader's reason, so db.c reports
 * "cannot connect to the database ...: <that>" and the record fails alone.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#define VZ_PQ_SONAME "libpq.so.5"

/* Every libpq function db.c uses; a new one fails the lean link until it is listed here. */
#define VZ_PQ_FUNCTIONS(X)                                                                                             \
    X(PQbackendPID)                                                                                                    \
    X(PQcancel)                                                                                                        \
    X(PQclear)                                                                                                         \
    X(PQconnectPoll)                                                                                                   \
    X(PQconnectStartParams)                                                                                            \
    X(PQconnectdbParams)                                                                                               \
    X(PQconninfo)                                                                                                      \
    X(PQconninfoFree)                                                                                                  \
    X(PQconninfoParse)                                                                                                 \
    X(PQconsumeInput)                                                                                                  \
    X(PQdb)                                                                                                            \
    X(PQdescribePrepared)                                                                                              \
    X(PQenterPipelineMode)                                                                                             \
    X(PQerrorMessage)                                                                                                  \
    X(PQexecParams)                                                                                                    \
    X(PQexitPipelineMode)                                                                                              \
    X(PQfinish)                                                                                                        \
    X(PQflush)                                                                                                         \
    X(PQfname)                                                                                                         \
    X(PQfreemem)                                                                                                       \
    X(PQfreeCancel)                                                                                                    \
    X(PQftype)                                                                                                         \
    X(PQgetCancel)                                                                                                     \
    X(PQgetResult)                                                                                                     \
    X(PQgetisnull)                                                                                                     \
    X(PQgetvalue)                                                                                                      \
    X(PQhost)                                                                                                          \
    X(PQisBusy)                                                                                                        \
    X(PQnfields)                                                                                                       \
    X(PQntuples)                                                                                                       \
    X(PQpipelineStatus)                                                                                                \
    X(PQpipelineSync)                                                                                                  \
    X(PQport)                                                                                                          \
    X(PQprepare)                                                                                                       \
    X(PQresultErrorField)                                                                                              \
    X(PQresultErrorMessage)                                                                                            \
    X(PQresultStatus)                                                                                                  \
    X(PQsendPrepare)                                                                                                   \
    X(PQsendQueryParams)                                                                                               \
    X(PQsendQueryPrepared)                                                                                             \
    X(PQsetnonblocking)                                                                                                \
    X(PQsocket)                                                                                                        \
    X(PQsslInUse)                                                                                                      \
    X(PQstatus)                                                                                                        \
    X(PQtransactionStatus)

#define VZ_PQ_POINTER(name) __typeof__(name) *(name);
static struct {
    VZ_PQ_FUNCTIONS(VZ_PQ_POINTER)
} pq;

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static int pq_loaded;         /* 1 once every pointer is set */
static char pq_failure[1024]; /* why not, for PQerrorMessage on the failed connection */
static char failed_conn;      /* its address is the connection handed back when libpq is missing */
#define FAILED_CONN ((PGconn *)(void *)&failed_conn)

/* The path of lib/libpq.so.5 beside the running executable, or "" when /proc says nothing. */
static void pq_path(char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    buf[0] = '\0';
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    snprintf(buf, size, "%s/lib/%s", exe, VZ_PQ_SONAME);
}

static void pq_load(void)
{
    char path[PATH_MAX + 32];
    pq_path(path, sizeof path);
    if (!path[0]) {
        snprintf(pq_failure, sizeof pq_failure,
                 "cannot load the PostgreSQL client library %s: /proc/self/exe does not say where the executable is",
                 VZ_PQ_SONAME);
        return;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(pq_failure, sizeof pq_failure, "cannot load the PostgreSQL client library %s (tried %s): %s",
                 VZ_PQ_SONAME, path, why ? why : "no reason given");
        return;
    }
#define VZ_PQ_RESOLVE(name)                                                                                            \
    *(void **)(&pq.name) = dlsym(h, #name);                                                                            \
    if (!pq.name) {                                                                                                    \
        snprintf(pq_failure, sizeof pq_failure, "the PostgreSQL client library %s has no %s", path, #name);            \
        dlclose(h);                                                                                                    \
        return;                                                                                                        \
    }
    VZ_PQ_FUNCTIONS(VZ_PQ_RESOLVE)
    pq_loaded = 1;
}

PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values, int expand_dbname)
{
    pthread_once(&pq_once, pq_load);
    return pq_loaded ? pq.PQconnectStartParams(keywords, values, expand_dbname) : FAILED_CONN;
}

/* conninfo.c checks DATABASE_URL with libpq's parser before connecting: that is the first
 * database use.  Without libpq it gets an empty option list (nothing to refuse), so that the
 * connection that follows fails with the reason the library could not be loaded. */
static PQconninfoOption no_options[1];

PQconninfoOption *PQconninfoParse(const char *conninfo, char **errmsg)
{
    pthread_once(&pq_once, pq_load);
    if (pq_loaded)
        return pq.PQconninfoParse(conninfo, errmsg);
    if (errmsg)
        *errmsg = NULL;
    return no_options;
}

void PQconninfoFree(PQconninfoOption *connOptions)
{
    if (pq_loaded && connOptions != no_options)
        pq.PQconninfoFree(connOptions);
}

void PQfreemem(void *ptr)
{
    if (pq_loaded)
        pq.PQfreemem(ptr);
}

/* Everything else: forwarded once libpq is loaded, else what a failed connection answers. */
#define LIVE(conn) (pq_loaded && (conn) != FAILED_CONN)

ConnStatusType PQstatus(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQstatus(conn) : CONNECTION_BAD;
}

char *PQerrorMessage(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQerrorMessage(conn) : pq_failure;
}

void PQfinish(PGconn *conn)
{
    if (LIVE(conn))
        pq.PQfinish(conn);
}

PostgresPollingStatusType PQconnectPoll(PGconn *conn)
{
    return LIVE(conn) ? pq.PQconnectPoll(conn) : PGRES_POLLING_FAILED;
}

/* db.c reads a live connection's options (its tcp_user_timeout); a failed one has none. */
PQconninfoOption *PQconninfo(PGconn *conn)
{
    return LIVE(conn) ? pq.PQconninfo(conn) : NULL;
}

/* vz-events check: a blocking connection of its own, and the statements it prepares and describes. */
PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values, int expand_dbname)
{
    pthread_once(&pq_once, pq_load);
    return pq_loaded ? pq.PQconnectdbParams(keywords, values, expand_dbname) : FAILED_CONN;
}

PGresult *PQprepare(PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes)
{
    return LIVE(conn) ? pq.PQprepare(conn, stmtName, query, nParams, paramTypes) : NULL;
}

PGresult *PQdescribePrepared(PGconn *conn, const char *stmt)
{
    return LIVE(conn) ? pq.PQdescribePrepared(conn, stmt) : NULL;
}

PGresult *PQexecParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                       const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                       int resultFormat)
{
    return LIVE(conn) ? pq.PQexecParams(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
                                        resultFormat)
                      : NULL;
}

int PQsocket(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQsocket(conn) : -1;
}

int PQbackendPID(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQbackendPID(conn) : 0;
}

char *PQdb(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQdb(conn) : NULL;
}

char *PQhost(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQhost(conn) : NULL;
}

char *PQport(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQport(conn) : NULL;
}

int PQsslInUse(PGconn *conn)
{
    return LIVE(conn) ? pq.PQsslInUse(conn) : 0;
}

PGTransactionStatusType PQtransactionStatus(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQtransactionStatus(conn) : PQTRANS_UNKNOWN;
}

PGpipelineStatus PQpipelineStatus(const PGconn *conn)
{
    return LIVE(conn) ? pq.PQpipelineStatus(conn) : PQ_PIPELINE_OFF;
}

int PQsetnonblocking(PGconn *conn, int arg)
{
    return LIVE(conn) ? pq.PQsetnonblocking(conn, arg) : -1;
}

int PQenterPipelineMode(PGconn *conn)
{
    return LIVE(conn) ? pq.PQenterPipelineMode(conn) : 0;
}

int PQexitPipelineMode(PGconn *conn)
{
    return LIVE(conn) ? pq.PQexitPipelineMode(conn) : 0;
}

int PQpipelineSync(PGconn *conn)
{
    return LIVE(conn) ? pq.PQpipelineSync(conn) : 0;
}

int PQflush(PGconn *conn)
{
    return LIVE(conn) ? pq.PQflush(conn) : -1;
}

int PQconsumeInput(PGconn *conn)
{
    return LIVE(conn) ? pq.PQconsumeInput(conn) : 0;
}

int PQisBusy(PGconn *conn)
{
    return LIVE(conn) ? pq.PQisBusy(conn) : 0;
}

int PQsendPrepare(PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes)
{
    return LIVE(conn) ? pq.PQsendPrepare(conn, stmtName, query, nParams, paramTypes) : 0;
}

int PQsendQueryParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                      const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                      int resultFormat)
{
    return LIVE(conn) ? pq.PQsendQueryParams(conn, command, nParams, paramTypes, paramValues, paramLengths,
                                             paramFormats, resultFormat)
                      : 0;
}

int PQsendQueryPrepared(PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues,
                        const int *paramLengths, const int *paramFormats, int resultFormat)
{
    return LIVE(conn)
               ? pq.PQsendQueryPrepared(conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat)
               : 0;
}

PGresult *PQgetResult(PGconn *conn)
{
    return LIVE(conn) ? pq.PQgetResult(conn) : NULL;
}

PGcancel *PQgetCancel(PGconn *conn)
{
    return LIVE(conn) ? pq.PQgetCancel(conn) : NULL;
}

/* Results and cancel handles exist only when libpq is loaded: no sentinel can reach these. */
void PQclear(PGresult *res)
{
    if (pq_loaded)
        pq.PQclear(res);
}

ExecStatusType PQresultStatus(const PGresult *res)
{
    return pq_loaded ? pq.PQresultStatus(res) : PGRES_FATAL_ERROR;
}

char *PQresultErrorMessage(const PGresult *res)
{
    return pq_loaded ? pq.PQresultErrorMessage(res) : pq_failure;
}

char *PQresultErrorField(const PGresult *res, int fieldcode)
{
    return pq_loaded ? pq.PQresultErrorField(res, fieldcode) : NULL;
}

int PQntuples(const PGresult *res)
{
    return pq_loaded ? pq.PQntuples(res) : 0;
}

char *PQfname(const PGresult *res, int field_num)
{
    return pq_loaded ? pq.PQfname(res, field_num) : NULL;
}

Oid PQftype(const PGresult *res, int field_num)
{
    return pq_loaded ? pq.PQftype(res, field_num) : 0;
}

int PQnfields(const PGresult *res)
{
    return pq_loaded ? pq.PQnfields(res) : 0;
}

char *PQgetvalue(const PGresult *res, int tup_num, int field_num)
{
    return pq_loaded ? pq.PQgetvalue(res, tup_num, field_num) : NULL;
}

int PQgetisnull(const PGresult *res, int tup_num, int field_num)
{
    return pq_loaded ? pq.PQgetisnull(res, tup_num, field_num) : 1;
}

void PQfreeCancel(PGcancel *cancel)
{
    if (pq_loaded)
        pq.PQfreeCancel(cancel);
}

int PQcancel(PGcancel *cancel, char *errbuf, int errbufsize)
{
    if (pq_loaded)
        return pq.PQcancel(cancel, errbuf, errbufsize);
    if (errbuf && errbufsize > 0)
        snprintf(errbuf, (size_t)errbufsize, "%s", pq_failure);
    return 0;
}
