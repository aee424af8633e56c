/* nfq_delay.c -- delay every packet an iptables NFQUEUE rule hands it, for tests on a kernel
 * without netem (tests/netns/netns.sh, scenario db_lossy).
 *
 * usage: vz-nfq-delay QUEUE_NUM DELAY_MS JITTER_MS
 * Each packet is held for DELAY_MS plus a uniform draw in [-JITTER_MS, +JITTER_MS], then
 * accepted (packets may leave out of order, as on a real path).  Runs until SIGTERM or SIGINT.
 * Loss is not ours: the test adds it with iptables' statistic match. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>

#define MAX_HELD 65536

typedef struct held {
    uint32_t id;
    double release_ms;
} held;

static held queue[MAX_HELD];
static size_t nheld;
static double delay_ms, jitter_ms;
static volatile sig_atomic_t stop;
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / (double)(1ULL << 53);
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
    (void)msg, (void)data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph)
        return 0;
    uint32_t id = ntohl(ph->packet_id);
    if (nheld == MAX_HELD)
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL); /* full: no delay rather than a drop */
    double d = delay_ms + (2.0 * uniform() - 1.0) * jitter_ms;
    queue[nheld++] = (held){id, now_ms() + (d > 0 ? d : 0)};
    return 0;
}

/* Accept every held packet whose time has come; returns ms until the next one, or -1. */
static int release_due(struct nfq_q_handle *qh)
{
    double now = now_ms(), next = -1;
    size_t k = 0;
    for (size_t i = 0; i < nheld; i++) {
        if (queue[i].release_ms <= now) {
            nfq_set_verdict(qh, queue[i].id, NF_ACCEPT, 0, NULL);
            continue;
        }
        if (next < 0 || queue[i].release_ms < next)
            next = queue[i].release_ms;
        queue[k++] = queue[i];
    }
    nheld = k;
    return next < 0 ? -1 : (int)(next - now) + 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: vz-nfq-delay QUEUE_NUM DELAY_MS JITTER_MS\n");
        return 2;
    }
    char *end1, *end2, *end3;
    long qnum = strtol(argv[1], &end1, 10);
    delay_ms = strtod(argv[2], &end2);
    jitter_ms = strtod(argv[3], &end3);
    if (*end1 || *end2 || *end3 || qnum < 0 || qnum > 65535 || delay_ms < 0 || jitter_ms < 0) {
        fprintf(stderr, "vz-nfq-delay: QUEUE_NUM is 0-65535, DELAY_MS and JITTER_MS numbers >= 0\n");
        return 2;
    }
    rng ^= (uint64_t)now_ms();
    struct nfq_handle *h = nfq_open();
    if (!h) {
        fprintf(stderr, "vz-nfq-delay: nfq_open failed (root, and the nfnetlink_queue module, are needed)\n");
        return 1;
    }
    struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)qnum, on_packet, NULL);
    if (!qh || nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
        fprintf(stderr, "vz-nfq-delay: cannot bind queue %ld: %s\n", qnum, strerror(errno));
        nfq_close(h);
        return 1;
    }
    nfq_set_queue_maxlen(qh, MAX_HELD);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int fd = nfq_fd(h);
    fprintf(stderr, "vz-nfq-delay: queue %ld, %.0f ms +- %.0f ms\n", qnum, delay_ms, jitter_ms);
    fflush(stderr);
    static char buf[65536 + 4096];
    while (!stop) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, release_due(qh));
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n > 0)
                nfq_handle_packet(h, buf, (int)n);
        }
    }
    /* Let what is held go before leaving: the rule's packets would be dropped without a reader. */
    for (size_t i = 0; i < nheld; i++)
        nfq_set_verdict(qh, queue[i].id, NF_ACCEPT, 0, NULL);
    nfq_destroy_queue(qh);
    nfq_close(h);
    return 0;
}
