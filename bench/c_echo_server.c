/* SPDX-License-Identifier: MIT
 * c_echo_server: the plain C echo server W4 and W5 compare corio's echo_server with: one
 * thread, epoll, level-triggered, a 64 KiB buffer per connection; what it cannot send at once
 * waits for writability while the connection's reads pause (back-pressure, as echo_server).
 *
 *   c_echo_server [PORT=0]
 *
 * Prints "listening on 127.0.0.1:PORT" and serves until SIGINT or SIGTERM. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum { buffer_size = 64 * 1024 };

struct connection {
    int fd;
    size_t pending, offset; /* bytes read and not yet echoed, from offset */
    char buffer[buffer_size];
};

static void fail(const char *what) {
    fprintf(stderr, "c_echo_server: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void watch(int ep, int op, int fd, unsigned events, void *data) {
    struct epoll_event e = {.events = events, .data.ptr = data};
    if (epoll_ctl(ep, op, fd, &e) < 0)
        fail("epoll_ctl");
}

static void drop(struct connection *c) {
    close(c->fd); /* also leaves the epoll set */
    free(c);
}

/* Sends what is pending; on EAGAIN waits for writability instead of reading, and reads again
 * once all is gone (`waiting`: it was waiting for writability). */
static void flush(int ep, struct connection *c, int waiting) {
    while (c->pending > 0) {
        const ssize_t n = send(c->fd, c->buffer + c->offset, c->pending, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) {
                watch(ep, EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
                return;
            }
            drop(c);
            return;
        }
        c->pending -= (size_t)n;
        c->offset += (size_t)n;
    }
    if (waiting)
        watch(ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
}

static void serve(int ep, struct connection *c, unsigned events) {
    if (events & EPOLLOUT) {
        flush(ep, c, 1);
        return;
    }
    const ssize_t n = recv(c->fd, c->buffer, buffer_size, 0);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        drop(c);
        return;
    }
    c->pending = (size_t)n;
    c->offset = 0;
    flush(ep, c, 0);
}

int main(int argc, char **argv) {
    const int port = argc > 1 ? atoi(argv[1]) : 0;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    const int signals = signalfd(-1, &stop, SFD_CLOEXEC);

    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    if (bind(listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(listener, 1024) < 0 ||
        getsockname(listener, (struct sockaddr *)&a, &size) < 0)
        fail("listen");
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);

    const int ep = epoll_create1(EPOLL_CLOEXEC);
    int listener_tag = 0, signal_tag = 0;
    watch(ep, EPOLL_CTL_ADD, listener, EPOLLIN, &listener_tag);
    watch(ep, EPOLL_CTL_ADD, signals, EPOLLIN, &signal_tag);
    struct epoll_event events[256];
    for (;;) {
        const int n = epoll_wait(ep, events, 256, -1);
        if (n < 0 && errno != EINTR)
            fail("epoll_wait");
        for (int i = 0; i < n; ++i) {
            void *tag = events[i].data.ptr;
            if (tag == &signal_tag)
                return 0;
            if (tag != &listener_tag) {
                serve(ep, tag, events[i].events);
                continue;
            }
            const int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                continue; /* EAGAIN, a connection that went, EMFILE: try again later */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            struct connection *c = malloc(sizeof *c);
            c->fd = fd;
            c->pending = c->offset = 0;
            watch(ep, EPOLL_CTL_ADD, fd, EPOLLIN, c);
        }
    }
}
