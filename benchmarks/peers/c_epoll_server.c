/*
 * c_epoll_server.c - the practical floor for a greeting server.
 *
 * Why: it shows what one core can do with no framework at all (one epoll
 * set, accept4 -> write -> close), so the Python rows can be read as
 * "framework overhead on top of the kernel's own TCP cost".
 *
 * Usage: c_epoll_server --port PORT [--host 127.0.0.1|::1]
 *        (listens on loopback only: 127.0.0.1 by default, or ::1)
 * Build: gcc -O2 -o c_epoll_server c_epoll_server.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char greeting[] = "Welcome!";

int main(int argc, char **argv)
{
    long port = -1;
    const char *host = "127.0.0.1";
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--port") == 0)
            port = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
    }
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
    int v6 = strcmp(host, "::1") == 0;
    if (port < 0 || port > 65535 || !(v6 || strcmp(host, "127.0.0.1") == 0)) {
        fprintf(stderr, "usage: %s --port PORT [--host 127.0.0.1|::1]\n", argv[0]);
        return 2;
    }
    sa.sin_port = sa6.sin6_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa6.sin6_addr = in6addr_loopback;
    struct sockaddr *address = v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa;
    socklen_t length = v6 ? sizeof sa6 : sizeof sa;

    int ls = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(ls, address, length) < 0 || listen(ls, 1024) < 0) {
        perror("listen");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0) {
        perror("epoll");
        return 1;
    }
    for (;;) {
        struct epoll_event out[16];
        int n = epoll_wait(ep, out, 16, -1);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        for (;;) {
            int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                perror("accept4"); /* e.g. EMFILE: report, keep serving */
                break;
            }
            /* A fresh socket always has room for 8 bytes. */
            if (write(fd, greeting, sizeof greeting - 1) < 0)
                perror("write");
            close(fd);
        }
    }
}
