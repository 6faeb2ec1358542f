/* SPDX-License-Identifier: MIT
 * echo_load: workload W4, requests against an echo server. CONNECTIONS connections each keep
 * one SIZE-byte message in flight: send it, read the echo back (checked byte for byte), send
 * the next. After WARMUP seconds it measures for SECONDS: requests per second, the p50 and
 * p99 round-trip latency, the server's CPU time per request (from /proc/SERVER_PID/stat over
 * the measured window) and its own CPU use, so that a saturated client shows.
 *
 *   echo_load IMPL HOST PORT SERVER_PID [CONNECTIONS=50 SIZE=64 WARMUP=1 SECONDS=5]
 *
 * One line: workload=W4 impl=IMPL connections=C size=S requests_per_s=R p50_us=A p99_us=B
 *           server_cpu_us_per_request=U client_cpu_percent=P */
#include "bench_net.h"

#include <fcntl.h>
#include <sys/epoll.h>

struct connection {
    int fd;
    size_t sent, received;
    double started;
};

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int argument(int argc, char **argv, int i, int fallback) {
    return argc > i ? atoi(argv[i]) : fallback;
}

int main(int argc, char **argv) {
    if (argc < 5)
        die("usage: echo_load IMPL HOST PORT SERVER_PID [CONNECTIONS SIZE WARMUP SECONDS]");
    const char *impl = argv[1], *host = argv[2];
    const int port = atoi(argv[3]);
    const pid_t server = (pid_t)atoi(argv[4]);
    const int count = argument(argc, argv, 5, 50), size = argument(argc, argv, 6, 64);
    const double warmup = argument(argc, argv, 7, 1), seconds = argument(argc, argv, 8, 5);

    char *message = malloc((size_t)size), *echo = malloc((size_t)size);
    for (int i = 0; i < size; ++i)
        message[i] = (char)('a' + i % 26);
    size_t latency_capacity = 1 << 20, latencies = 0;
    double *latency = malloc(latency_capacity * sizeof *latency);
    struct connection *c = calloc((size_t)count, sizeof *c);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < count; ++i) {
        c[i].fd = connect_to(host, port);
        fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &e);
        c[i].started = now_seconds();
        if (send(c[i].fd, message, (size_t)size, MSG_NOSIGNAL) != size)
            die("send: %s", strerror(errno)); /* 64 bytes into an empty socket buffer */
    }

    const double start = now_seconds(), measure_from = start + warmup,
                 measure_to = measure_from + seconds;
    double server_cpu_start = 0, own_cpu_start = 0;
    int measuring = 0;
    size_t requests = 0;
    struct epoll_event events[64];
    for (;;) {
        const double now = now_seconds();
        if (!measuring && now >= measure_from) {
            measuring = 1;
            server_cpu_start = process_cpu_seconds(server);
            own_cpu_start = own_cpu_seconds();
        }
        if (now >= measure_to)
            break;
        const int n = epoll_wait(ep, events, 64, 100);
        for (int k = 0; k < n; ++k) {
            struct connection *x = &c[events[k].data.u32];
            const ssize_t r = recv(x->fd, echo + x->received, (size_t)size - x->received, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                die("the server closed a connection (%s)", r == 0 ? "end of stream" : strerror(errno));
            }
            x->received += (size_t)r;
            if (x->received < (size_t)size)
                continue;
            if (memcmp(echo, message, (size_t)size) != 0)
                die("the echo differs from the message");
            const double done = now_seconds();
            if (measuring && done < measure_to) {
                ++requests;
                if (latencies == latency_capacity) {
                    latency_capacity *= 2;
                    latency = realloc(latency, latency_capacity * sizeof *latency);
                }
                latency[latencies++] = done - x->started;
            }
            x->received = 0;
            x->started = done;
            if (send(x->fd, message, (size_t)size, MSG_NOSIGNAL) != size)
                die("send: %s", strerror(errno));
        }
    }
    const double server_cpu = process_cpu_seconds(server) - server_cpu_start;
    const double own_cpu = own_cpu_seconds() - own_cpu_start;
    /* A clean goodbye: end each stream and read the last echo up to the server's end of
     * stream, so that no connection ends in a reset. */
    for (int i = 0; i < count; ++i) {
        shutdown(c[i].fd, SHUT_WR);
        fcntl(c[i].fd, F_SETFL, 0);
        while (recv(c[i].fd, echo, (size_t)size, 0) > 0) {
        }
        close(c[i].fd);
    }
    if (requests == 0)
        die("no request completed in the measured window");
    qsort(latency, latencies, sizeof *latency, compare_doubles);
    printf("workload=W4 impl=%s connections=%d size=%d requests_per_s=%.0f p50_us=%.1f "
           "p99_us=%.1f server_cpu_us_per_request=%.2f client_cpu_percent=%.0f\n",
           impl, count, size, (double)requests / seconds, latency[latencies / 2] * 1e6,
           latency[latencies * 99 / 100] * 1e6, server_cpu / (double)requests * 1e6,
           own_cpu / seconds * 100);
    return 0;
}
