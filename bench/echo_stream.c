/* SPDX-License-Identifier: MIT
 * echo_stream: workload W5, bulk data through an echo server. It sends GIB GiB in 64 KiB
 * sends on one connection while reading the echo back (every byte checked against what was
 * sent at its offset), and reports the throughput and the server's CPU time per GiB
 * (from /proc/SERVER_PID/stat) and its own CPU use.
 *
 *   echo_stream IMPL HOST PORT SERVER_PID [GIB=1]
 *
 * One line: workload=W5 impl=IMPL bytes=N gb_per_s=G server_cpu_ms_per_gib=M
 *           client_cpu_percent=P */
#include "bench_net.h"

#include <poll.h>

int main(int argc, char **argv) {
    if (argc < 5)
        die("usage: echo_stream IMPL HOST PORT SERVER_PID [GIB]");
    const char *impl = argv[1], *host = argv[2];
    const int port = atoi(argv[3]);
    const pid_t server = (pid_t)atoi(argv[4]);
    const unsigned long long total = (unsigned long long)(argc > 5 ? atoi(argv[5]) : 1) << 30;
    enum { chunk = 64 * 1024 };
    static unsigned char out[chunk], in[chunk];
    for (int i = 0; i < chunk; ++i)
        out[i] = (unsigned char)(i * 131 % 251);

    const int fd = connect_to(host, port);
    unsigned long long sent = 0, received = 0;
    const double start = now_seconds(), server_cpu_start = process_cpu_seconds(server),
                 own_cpu_start = own_cpu_seconds();
    while (received < total) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0)};
        if (poll(&p, 1, 10000) <= 0)
            die("the server stopped echoing");
        if (p.revents & POLLOUT) {
            const size_t offset = (size_t)(sent % chunk);
            size_t want = chunk - offset;
            if (want > total - sent)
                want = (size_t)(total - sent);
            const ssize_t n = send(fd, out + offset, want, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN)
                die("send: %s", strerror(errno));
            sent += n > 0 ? (unsigned long long)n : 0;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = recv(fd, in, chunk, MSG_DONTWAIT);
            if (n == 0)
                die("the server ended the stream after %llu bytes", received);
            if (n < 0 && errno != EAGAIN)
                die("recv: %s", strerror(errno));
            for (ssize_t i = 0; i < n; ++i)
                if (in[i] != out[(received + (unsigned long long)i) % chunk])
                    die("byte %llu of the echo differs from the one sent", received + (unsigned long long)i);
            received += n > 0 ? (unsigned long long)n : 0;
        }
    }
    const double elapsed = now_seconds() - start;
    const double server_cpu = process_cpu_seconds(server) - server_cpu_start;
    const double own_cpu = own_cpu_seconds() - own_cpu_start;
    const double gib = (double)total / (double)(1ull << 30);
    printf("workload=W5 impl=%s bytes=%llu gb_per_s=%.2f server_cpu_ms_per_gib=%.0f "
           "client_cpu_percent=%.0f\n",
           impl, total, (double)total / elapsed / 1e9, server_cpu * 1e3 / gib,
           own_cpu / elapsed * 100);
    return 0;
}
