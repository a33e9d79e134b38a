/*
 * loadgen.c - closed-loop load generator for greeting servers.
 *
 * Why C: a Python client would saturate its own CPU long before a fast
 * server does, and then the benchmark would measure the client.  This is one
 * thread, one epoll set, no allocation on the hot path.
 *
 * Each of N slots loops: socket -> non-blocking connect -> read until EOF ->
 * check the bytes are exactly the expected greeting -> close -> next.
 * Latency is connect() start to EOF, from CLOCK_MONOTONIC.
 *
 * Ephemeral ports: the client sets SO_LINGER {on, 0} before closing, so the
 * close (which happens after the server's FIN) sends RST and no TIME_WAIT is
 * left on either end of the 4-tuple.  Repeated runs of 100k+ connections
 * therefore never run out of ports or fill the TIME_WAIT table; the server
 * has already closed its socket by then, so the RST is invisible to it.
 * If connect() still reports EADDRNOTAVAIL it is counted as an error and the
 * slot backs off for 1 ms.
 *
 * Only loopback targets (127.0.0.0/8, ::1) are accepted.
 *
 * Output: one JSON object on stdout.  Exit status 0 when the run finished,
 * 2 on usage errors, 1 on system errors.
 *
 * Build: gcc -O2 -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MAX_EXPECTED 4096

enum err_kind { E_REFUSED, E_RESET, E_WRONG, E_TIMEOUT, E_ADDRNOTAVAIL, E_OTHER, E_KINDS };
static const char *const err_names[E_KINDS] = {
    "refused", "reset", "wrong_bytes", "timeout", "addr_not_avail", "other",
};

struct slot {
    int fd;           /* -1 when idle */
    uint64_t t0;      /* connect() start, ns */
    uint64_t not_before; /* back-off after EADDRNOTAVAIL, ns */
    size_t got;
    char buf[MAX_EXPECTED + 1];
};

static struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *expected;
    size_t expected_len;
    long concurrency;
    long count;          /* attempts to make; 0 = unbounded */
    double duration;     /* seconds; 0 = unbounded */
    long timeout_ms;
    long max_errors;
} opt = {.expected = "Welcome!", .concurrency = 32, .timeout_ms = 5000, .max_errors = 1000};

static long attempts, greetings, errors, err_count[E_KINDS];
static uint64_t *lat_ns;
static size_t lat_cap;
static int aborted;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen -p PORT [-H 127.0.0.1] [-c CONCURRENCY] [-n COUNT] [-d SECONDS]\n"
            "               [-e EXPECTED] [-t TIMEOUT_MS] [-x MAX_ERRORS]\n"
            "At least one of -n / -d is required.  Prints JSON on stdout.\n");
    exit(2);
}

static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        usage();
    return v;
}

static void parse_target(const char *host, long port)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&opt.addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&opt.addr;
    memset(&opt.addr, 0, sizeof opt.addr);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) {
            fprintf(stderr, "loadgen: refusing non-loopback target %s\n", host);
            exit(2);
        }
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        opt.addrlen = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
            fprintf(stderr, "loadgen: refusing non-loopback target %s\n", host);
            exit(2);
        }
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        opt.addrlen = sizeof *v6;
    } else {
        fprintf(stderr, "loadgen: -H needs a numeric loopback address\n");
        exit(2);
    }
}

static void record_latency(uint64_t ns)
{
    if ((size_t)greetings >= lat_cap) {
        lat_cap = lat_cap ? lat_cap * 2 : 65536;
        lat_ns = realloc(lat_ns, lat_cap * sizeof *lat_ns);
        if (!lat_ns)
            die("realloc");
    }
    lat_ns[greetings] = ns;
    greetings++;
}

static void finish(struct slot *s, int kind, uint64_t now)
{
    close(s->fd); /* also removes it from the epoll set */
    s->fd = -1;
    if (kind < 0) {
        record_latency(now - s->t0);
        return;
    }
    errors++;
    err_count[kind]++;
    if (opt.max_errors > 0 && errors >= opt.max_errors)
        aborted = 1;
}

static int errno_kind(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return E_REFUSED;
    case ECONNRESET:
    case EPIPE:
        return E_RESET;
    case EADDRNOTAVAIL:
        return E_ADDRNOTAVAIL;
    case ETIMEDOUT:
        return E_TIMEOUT;
    default:
        return E_OTHER;
    }
}

/* Start one connection in slot s; returns 1 if it is now in flight. */
static int start(int ep, struct slot *s, uint32_t idx)
{
    static const struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
        die("setsockopt(SO_LINGER)");
    attempts++;
    s->fd = fd;
    s->got = 0;
    s->t0 = now_ns();
    if (connect(fd, (struct sockaddr *)&opt.addr, opt.addrlen) < 0 && errno != EINPROGRESS) {
        int kind = errno_kind(errno);
        finish(s, kind, s->t0);
        if (kind == E_ADDRNOTAVAIL)
            s->not_before = now_ns() + 1000000u;
        return 0;
    }
    /* No EPOLLOUT: a failed connect wakes us with EPOLLERR and read() says why. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = idx};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl");
    return 1;
}

/* Read what is there; finish the slot on EOF or error.  If epoll already
 * reported the peer's FIN (EPOLLRDHUP), a short read has drained everything
 * before it, so EOF is known without the extra read() that would return 0. */
static void on_readable(struct slot *s, uint32_t events)
{
    for (;;) {
        size_t want = opt.expected_len + 1 - s->got;
        ssize_t r = read(s->fd, s->buf + s->got, want);
        if (r > 0) {
            s->got += (size_t)r;
            if (s->got > opt.expected_len) {
                finish(s, E_WRONG, now_ns());
                return;
            }
            if ((size_t)r < want && (events & EPOLLRDHUP))
                r = 0; /* FIN already queued behind the data we just read */
            else
                continue;
        }
        if (r == 0) {
            uint64_t t = now_ns();
            int ok = s->got == opt.expected_len && memcmp(s->buf, opt.expected, opt.expected_len) == 0;
            finish(s, ok ? -1 : E_WRONG, t);
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EINTR)
            continue;
        finish(s, errno_kind(errno), now_ns());
        return;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile, in microseconds. */
static double pct_us(double p)
{
    if (greetings == 0)
        return 0.0;
    size_t rank = (size_t)((p / 100.0) * (double)greetings + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > (size_t)greetings)
        rank = (size_t)greetings;
    return (double)lat_ns[rank - 1] / 1000.0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = -1;
    int c;
    while ((c = getopt(argc, argv, "H:p:c:n:d:e:t:x:")) != -1) {
        switch (c) {
        case 'H': host = optarg; break;
        case 'p': port = parse_long(optarg, 1, 65535); break;
        case 'c': opt.concurrency = parse_long(optarg, 1, 100000); break;
        case 'n': opt.count = parse_long(optarg, 0, 1000000000L); break;
        case 'd': opt.duration = strtod(optarg, NULL); break;
        case 'e': opt.expected = optarg; break;
        case 't': opt.timeout_ms = parse_long(optarg, 1, 3600000L); break;
        case 'x': opt.max_errors = parse_long(optarg, 0, 1000000000L); break;
        default: usage();
        }
    }
    if (port < 0 || optind != argc || (opt.count == 0 && opt.duration <= 0))
        usage();
    opt.expected_len = strlen(opt.expected);
    if (opt.expected_len == 0 || opt.expected_len > MAX_EXPECTED)
        usage();
    parse_target(host, port);
    if (opt.count > 0 && opt.concurrency > opt.count)
        opt.concurrency = opt.count;

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)opt.concurrency + 16) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    struct slot *slots = calloc((size_t)opt.concurrency, sizeof *slots);
    if (!slots)
        die("calloc");
    if (opt.count > 0) {
        lat_cap = (size_t)opt.count;
        lat_ns = malloc(lat_cap * sizeof *lat_ns);
        if (!lat_ns)
            die("malloc");
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");

    double cpu0 = cpu_seconds();
    uint64_t t_start = now_ns();
    uint64_t deadline = opt.duration > 0 ? t_start + (uint64_t)(opt.duration * 1e9) : UINT64_MAX;
    uint64_t timeout_ns = (uint64_t)opt.timeout_ms * 1000000u;
    uint64_t last_sweep = t_start;
    long inflight = 0;
    struct epoll_event evs[MAX_EVENTS];

    for (long i = 0; i < opt.concurrency; i++)
        slots[i].fd = -1;

    for (;;) {
        /* Refill idle slots while the budget lasts. */
        uint64_t now = now_ns();
        int may_start = !aborted && now < deadline;
        for (long i = 0; i < opt.concurrency && may_start; i++) {
            struct slot *s = &slots[i];
            while (s->fd < 0 && !aborted && now < deadline &&
                   (opt.count == 0 || attempts < opt.count) && s->not_before <= now) {
                if (start(ep, s, (uint32_t)i)) {
                    inflight++;
                    break;
                }
                now = now_ns();
            }
        }
        int more = !aborted && now < deadline && (opt.count == 0 || attempts < opt.count);
        if (inflight == 0 && !more)
            break;

        int n = epoll_wait(ep, evs, MAX_EVENTS, inflight ? 10 : 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int k = 0; k < n; k++) {
            struct slot *s = &slots[evs[k].data.u32];
            if (s->fd < 0)
                continue;
            on_readable(s, evs[k].events);
            if (s->fd < 0)
                inflight--;
        }
        now = now_ns();
        if (n == 0 || now - last_sweep > 10000000u) {
            last_sweep = now;
            for (long i = 0; i < opt.concurrency; i++) {
                struct slot *s = &slots[i];
                if (s->fd >= 0 && now - s->t0 > timeout_ns) {
                    finish(s, E_TIMEOUT, now);
                    inflight--;
                }
            }
        }
    }

    uint64_t t_end = now_ns();
    double cpu = cpu_seconds() - cpu0;
    double elapsed = (double)(t_end - t_start) / 1e9;
    double sum = 0.0;
    for (long i = 0; i < greetings; i++)
        sum += (double)lat_ns[i];
    qsort(lat_ns, (size_t)greetings, sizeof *lat_ns, cmp_u64);

    printf("{\"greetings\": %ld, \"attempts\": %ld, \"errors\": %ld, \"errors_by_kind\": {",
           greetings, attempts, errors);
    for (int k = 0; k < E_KINDS; k++)
        printf("%s\"%s\": %ld", k ? ", " : "", err_names[k], err_count[k]);
    printf("}, \"elapsed_s\": %.6f, \"rate_per_s\": %.1f, \"concurrency\": %ld, "
           "\"client_cpu_s\": %.6f, \"aborted\": %s, \"latency_us\": {",
           elapsed, elapsed > 0 ? (double)greetings / elapsed : 0.0, opt.concurrency, cpu,
           aborted ? "true" : "false");
    printf("\"min\": %.1f, \"mean\": %.1f, \"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
           "\"p999\": %.1f, \"max\": %.1f}}\n",
           greetings ? (double)lat_ns[0] / 1000.0 : 0.0,
           greetings ? sum / (double)greetings / 1000.0 : 0.0, pct_us(50), pct_us(90),
           pct_us(99), pct_us(99.9), greetings ? (double)lat_ns[greetings - 1] / 1000.0 : 0.0);
    free(lat_ns);
    free(slots);
    close(ep);
    return 0;
}
