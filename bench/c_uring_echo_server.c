/* SPDX-License-Identifier: MIT
 * c_uring_echo_server: the plain C io_uring echo server W4 and W5 compare corio's io_uring
 * backend with: one thread, one ring (single issuer, deferred task work, when the kernel has
 * them), multishot accept, and per connection one receive or one send in flight on a 64 KiB
 * buffer; a send the kernel cut short is submitted again for the rest before the next
 * receive (back-pressure, as echo_server).
 *
 * With MODE "multishot" it receives the other way io_uring offers instead: one multishot
 * receive per connection into buffers the kernel picks from a shared ring of provided
 * buffers, each echoed from where it landed and given back once sent. Kept to measure that
 * way against the plain one (corio receives the plain way).
 *
 *   c_uring_echo_server [PORT=0] [MODE=plain|multishot]
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

/* The provided buffers of multishot mode, as large as plain mode's buffer (64 MiB in all). */
enum { provided_count = 1024, provided_size = 64 * 1024, provided_group = 0 };

/* A completion's user_data: a connection's address with the operation in its low bit, or
 * one of these (connections are never at addresses below 8). */
enum { tag_send = 1, tag_accept = 2, tag_signal = 4, tag_ignored = 6 };

struct connection {
    int fd;
    size_t pending, offset; /* bytes received and not yet echoed, from offset */
    /* multishot mode: the provided buffers received and not yet echoed, oldest first (-1:
     * none), and what is in flight; the connection goes once nothing is. */
    int first, last;
    int receiving, sending, closing, peer_done;
    char buffer[]; /* plain mode's */
};

static struct io_uring ring;
static int multishot;

/* multishot mode's buffers, each in the ring or in one connection's queue */
static struct io_uring_buf_ring* provided;
static char* provided_memory;
static int provided_next[provided_count];
static size_t provided_length[provided_count];

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

static void receive_many(struct connection* c) {
    struct io_uring_sqe* sqe = slot();
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = provided_group;
    io_uring_sqe_set_data64(sqe, (uintptr_t)c);
    c->receiving = 1;
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

static char* provided_buffer(int id) {
    return provided_memory + (size_t)id * provided_size;
}

static void give_back(int id) {
    io_uring_buf_ring_add(provided,
                          provided_buffer(id),
                          provided_size,
                          (unsigned short)id,
                          io_uring_buf_ring_mask(provided_count),
                          0);
    io_uring_buf_ring_advance(provided, 1);
}

static void setup_provided(void) {
    provided_memory = malloc((size_t)provided_count * provided_size);
    if (posix_memalign((void**)&provided, 4096, provided_count * sizeof(struct io_uring_buf)) ||
        provided_memory == NULL)
        fail("allocating the provided buffers", ENOMEM);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uintptr_t)provided;
    reg.ring_entries = provided_count;
    reg.bgid = provided_group;
    const int r = io_uring_register_buf_ring(&ring, &reg, 0);
    if (r < 0)
        fail("io_uring_register_buf_ring", -r);
    io_uring_buf_ring_init(provided);
    for (int id = 0; id < provided_count; ++id)
        give_back(id);
}

/* multishot mode: the oldest buffer of the queue goes out (from c->offset), unless one is. */
static void send_first(struct connection* c) {
    if (c->sending || c->first < 0)
        return;
    struct io_uring_sqe* sqe = slot();
    io_uring_prep_send(sqe,
                       c->fd,
                       provided_buffer(c->first) + c->offset,
                       provided_length[c->first] - c->offset,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uintptr_t)c | tag_send);
    c->sending = 1;
}

/* A connection that ended goes once the kernel holds nothing of it. */
static void end(struct connection* c) {
    if (!c->closing) {
        c->closing = 1;
        if (c->receiving) { /* its last completion comes as -ECANCELED */
            struct io_uring_sqe* sqe = slot();
            io_uring_prep_cancel64(sqe, (uintptr_t)c, 0);
            io_uring_sqe_set_data64(sqe, tag_ignored);
        }
    }
    if (c->receiving || c->sending)
        return;
    for (int id = c->first; id >= 0; id = provided_next[id])
        give_back(id);
    drop(c);
}

static void received_many(struct connection* c, int result, unsigned flags) {
    if ((flags & IORING_CQE_F_MORE) == 0)
        c->receiving = 0;
    if (result > 0) {
        const int id = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
        provided_length[id] = (size_t)result;
        provided_next[id] = -1;
        if (c->first < 0)
            c->first = id;
        else
            provided_next[c->last] = id;
        c->last = id;
        send_first(c);
    }
    if (result == 0 && !c->closing) { /* the peer is done: echo what is queued, then end */
        c->peer_done = 1;
        if (!c->sending)
            end(c);
        return;
    }
    if (c->closing || (result < 0 && result != -ENOBUFS)) {
        end(c);
        return;
    }
    /* Ended early (out of buffers, or the kernel's choice): receive again once this
     * connection's own buffers are back, or now if it holds none. */
    if (!c->receiving && c->first < 0)
        receive_many(c);
}

static void sent_many(struct connection* c, int result) {
    c->sending = 0;
    if (result < 0 || c->closing) {
        end(c);
        return;
    }
    c->offset += (size_t)result;
    if (c->offset == provided_length[c->first]) {
        const int id = c->first;
        c->first = provided_next[id];
        c->offset = 0;
        give_back(id);
        if (c->first < 0 && c->peer_done) {
            end(c);
            return;
        }
        if (c->first < 0 && !c->receiving)
            receive_many(c);
    }
    send_first(c);
}

static void accepted(int fd) {
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    struct connection* c = calloc(1, sizeof *c + (multishot ? 0 : buffer_size));
    if (c == NULL) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->first = c->last = -1;
    if (multishot)
        receive_many(c);
    else
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
    multishot = argc > 2 && strcmp(argv[2], "multishot") == 0;
    if (argc > 2 && !multishot && strcmp(argv[2], "plain") != 0)
        fail("MODE", EINVAL);
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
    if (multishot)
        setup_provided();
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
            if (data == tag_ignored)
                continue;
            if (data == tag_accept) {
                if (cqe->res >= 0)
                    accepted(cqe->res);
                if ((cqe->flags & IORING_CQE_F_MORE) == 0) /* ended: EMFILE and the like */
                    accept_all(listener);
                continue;
            }
            struct connection* c = (struct connection*)(uintptr_t)(data & ~(uint64_t)tag_send);
            if (multishot && (data & tag_send))
                sent_many(c, cqe->res);
            else if (multishot)
                received_many(c, cqe->res, cqe->flags);
            else if (data & tag_send)
                sent(c, cqe->res);
            else
                received(c, cqe->res);
        }
        io_uring_cq_advance(&ring, seen);
    }
}
