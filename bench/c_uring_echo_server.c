/* SPDX-License-Identifier: MIT
 * c_uring_echo_server: the plain C io_uring echo server W4 and W5 compare corio's io_uring
 * backend with: one thread, one ring (single issuer, deferred task work, when the kernel has
 * them), multishot accept, and per connection one receive or one send in flight on a 64 KiB
 * buffer; a send the kernel cut short is submitted again for the rest before the next
 * receive (back-pressure, as echo_server).
 *
 *   c_uring_echo_server [PORT=0]
 *
 * Prints "listening on 127.0.0.1:PORT" and serves until SIGINT or SIGTERM. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

enum { buffer_size = 64 * 1024, ring_entries = 1024 };

/* A completion's user_data: a connection's address with the operation in its low bit, or
 * one of these (connections are never at addresses below 8). */
enum { tag_send = 1, tag_accept = 2, tag_signal = 4 };

struct connection {
    int fd;
    size_t pending, offset; /* bytes received and not yet echoed, from offset */
    char buffer[buffer_size];
};

static struct io_uring ring;

static void fail(const char* what, int error) {
    fprintf(stderr, "c_uring_echo_server: %s: %s\n", what, strerror(error));
    exit(1);
}

/* The next submission slot; a full queue is submitted first. */
static struct io_uring_sqe* slot(void) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (sqe == NULL) {
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

static void receive(struct connection* c) {
    struct io_uring_sqe* sqe = slot();
    io_uring_prep_recv(sqe, c->fd, c->buffer, buffer_size, 0);
    io_uring_sqe_set_data64(sqe, (uintptr_t)c);
}

static void send_pending(struct connection* c) {
    struct io_uring_sqe* sqe = slot();
    io_uring_prep_send(sqe, c->fd, c->buffer + c->offset, c->pending, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uintptr_t)c | tag_send);
}

static void accept_all(int listener) {
    struct io_uring_sqe* sqe = slot();
    io_uring_prep_multishot_accept(sqe, listener, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag_accept);
}

static void drop(struct connection* c) {
    close(c->fd);
    free(c);
}

static void accepted(int fd) {
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    struct connection* c = malloc(sizeof *c);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->pending = c->offset = 0;
    receive(c);
}

static void received(struct connection* c, int result) {
    if (result <= 0) { /* end of stream or an error */
        drop(c);
        return;
    }
    c->pending = (size_t)result;
    c->offset = 0;
    send_pending(c);
}

static void sent(struct connection* c, int result) {
    if (result < 0) {
        drop(c);
        return;
    }
    c->pending -= (size_t)result;
    c->offset += (size_t)result;
    if (c->pending > 0)
        send_pending(c);
    else
        receive(c);
}

static void setup_ring(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(ring_entries, &ring, &params) == 0)
        return;
    memset(&params, 0, sizeof params); /* a kernel before 6.1 */
    const int r = io_uring_queue_init_params(ring_entries, &ring, &params);
    if (r < 0)
        fail("io_uring_queue_init", -r);
}

int main(int argc, char** argv) {
    const int port = argc > 1 ? atoi(argv[1]) : 0;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    const int signals = signalfd(-1, &stop, SFD_CLOEXEC);

    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    if (bind(listener, (struct sockaddr*)&a, sizeof a) < 0 || listen(listener, 1024) < 0 ||
        getsockname(listener, (struct sockaddr*)&a, &size) < 0)
        fail("listen", errno);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);

    setup_ring();
    accept_all(listener);
    struct io_uring_sqe* sqe = slot();
    io_uring_prep_poll_add(sqe, signals, POLLIN);
    io_uring_sqe_set_data64(sqe, tag_signal);
    for (;;) {
        const int r = io_uring_submit_and_wait(&ring, 1);
        if (r < 0 && r != -EINTR)
            fail("io_uring_submit_and_wait", -r);
        struct io_uring_cqe* cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            const uint64_t data = cqe->user_data;
            if (data == tag_signal)
                return 0;
            if (data == tag_accept) {
                if (cqe->res >= 0)
                    accepted(cqe->res);
                if ((cqe->flags & IORING_CQE_F_MORE) == 0) /* ended: EMFILE and the like */
                    accept_all(listener);
                continue;
            }
            struct connection* c = (struct connection*)(uintptr_t)(data & ~(uint64_t)tag_send);
            if (data & tag_send)
                sent(c, cqe->res);
            else
                received(c, cqe->res);
        }
        io_uring_cq_advance(&ring, seen);
    }
}
