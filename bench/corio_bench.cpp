// SPDX-License-Identifier: MIT
// corio's side of the benchmark workloads of docs/benchmarks.md that the core can run so far:
// W1 task churn, W2 fan-out, W3 timers, W6 queue ping-pong; T1/T2 for to_thread; and S1, a
// TCP ping-pong on the loop's sock_* calls. One line per figure, in the format
// docs/benchmarks.md gives.
// Usage: corio_bench [--quick] [W1|W2|W3|W6|T1|T2|S1]...  (all when none is named)
#include <corio/corio.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/core.h>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "bench_memory.hpp"

using namespace std::chrono_literals;

namespace {

using bench::bytes_per_op;
using bench::current_rss_kb;
using bench::peak_rss_kb;

std::string impl_name() {
    corio::event_loop loop;
    return "corio-" + std::string(loop.backend_name());
}

void report(std::string_view workload,
            std::size_t n,
            double seconds,
            double per_op_ns,
            std::string_view extra = {}) {
    fmt::print("workload={} impl={} n={} seconds={:.4f} per_op_ns={:.1f} rss_kb={}{}\n",
               workload,
               impl_name(),
               n,
               seconds,
               per_op_ns,
               peak_rss_kb(),
               extra);
}

double seconds_since(corio::clock::time_point start) {
    return std::chrono::duration<double>(corio::clock::now() - start).count();
}

corio::task<int> trivial(int i) {
    co_return i;
}

// W1: sequentially create and await trivial coroutines, inline and through spawn.
corio::task<> task_churn(std::size_t n) {
    long long sum = 0;
    auto start = corio::clock::now();
    for (std::size_t i = 0; i < n; ++i)
        sum += co_await trivial(static_cast<int>(i));
    double inline_s = seconds_since(start);
    report("W1-await", n, inline_s, inline_s * 1e9 / static_cast<double>(n));

    start = corio::clock::now();
    for (std::size_t i = 0; i < n; ++i)
        sum += co_await corio::spawn(trivial(static_cast<int>(i)));
    double spawn_s = seconds_since(start);
    report("W1-spawn", n, spawn_s, spawn_s * 1e9 / static_cast<double>(n));
    if (sum == 42)
        fmt::print("unlikely\n"); // keeps the sums observable
}

corio::task<> yield_once() {
    co_await corio::sleep(0s);
}

// W2: spawn N tasks that each yield once, gather them all.
corio::task<> fan_out(std::size_t n) {
    std::vector<corio::task<>> tasks;
    const long rss_before_kb = current_rss_kb();
    tasks.reserve(n);
    auto start = corio::clock::now();
    for (std::size_t i = 0; i < n; ++i)
        tasks.push_back(yield_once());
    co_await corio::gather(std::move(tasks));
    double s = seconds_since(start);
    report("W2", n, s, s * 1e9 / static_cast<double>(n), bytes_per_op(rss_before_kb, n));
}

corio::task<> sleep_for(std::chrono::milliseconds d) {
    co_await corio::sleep(d);
}

// W3: N concurrent sleeps of x % 100 ms, x an LCG from seed 12345; the figure is the wall
// time beyond the longest sleep (0.1 s), per task.
corio::task<> timers(std::size_t n) {
    std::vector<corio::task<>> tasks;
    const long rss_before_kb = current_rss_kb();
    tasks.reserve(n);
    std::uint32_t x = 12345;
    auto start = corio::clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        x = static_cast<std::uint32_t>((x * 1103515245ull + 12345ull) % (1ull << 31));
        tasks.push_back(sleep_for(std::chrono::milliseconds(x % 100)));
    }
    co_await corio::gather(std::move(tasks));
    double s = seconds_since(start);
    report("W3", n, s, (s - 0.1) * 1e9 / static_cast<double>(n), bytes_per_op(rss_before_kb, n));
}

corio::task<> produce(corio::queue<std::size_t>& q, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        co_await q.put(i);
}

corio::task<std::size_t> consume(corio::queue<std::size_t>& q, std::size_t n) {
    std::size_t sum = 0;
    for (std::size_t i = 0; i < n; ++i)
        sum += co_await q.get();
    co_return sum;
}

// W6: two tasks exchange N messages through a queue of size 1, so every message is a
// hand-off between them.
corio::task<> queue_ping_pong(std::size_t n) {
    corio::queue<std::size_t> q(1);
    auto start = corio::clock::now();
    auto [done, sum] = co_await corio::gather(produce(q, n), consume(q, n));
    double s = seconds_since(start);
    if (sum != n * (n - 1) / 2)
        throw std::logic_error("W6: messages were lost");
    report("W6", n, s, s * 1e9 / static_cast<double>(n));
}

// T1: N empty to_thread calls one after the other: each is a hand-off to a pool thread and a
// wake-up of the loop through its inbox, the round trip a blocking call pays on top.
corio::task<> to_thread_round_trip(std::size_t n) {
    std::size_t sum = 0;
    auto start = corio::clock::now();
    for (std::size_t i = 0; i < n; ++i)
        sum += co_await corio::to_thread([i] { return i; });
    double s = seconds_since(start);
    if (sum != n * (n - 1) / 2)
        throw std::logic_error("T1: results were lost");
    report("T1", n, s, s * 1e9 / static_cast<double>(n));
}

std::size_t block_for_100ms(std::size_t i) {
    std::this_thread::sleep_for(100ms);
    return i;
}

// T2: N blocking calls of 100 ms at once; the figure is how many the default pool ran side
// by side (N * 0.1 s / wall time), which its size bounds.
corio::task<> to_thread_blocking(std::size_t n) {
    std::vector<corio::task<std::size_t>> calls;
    calls.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        calls.push_back([](std::size_t i) -> corio::task<std::size_t> {
            co_return co_await corio::to_thread(block_for_100ms, i);
        }(i));
    auto start = corio::clock::now();
    co_await corio::gather(std::move(calls));
    double s = seconds_since(start);
    const double concurrent = static_cast<double>(n) * 0.1 / s;
    report("T2",
           n,
           s,
           s * 1e9 / static_cast<double>(n),
           fmt::format(" concurrent={:.1f}", concurrent));
}

corio::event_loop& loop() {
    return corio::get_running_loop();
}

corio::unique_fd tcp_socket() {
    corio::unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        throw std::system_error(errno, std::generic_category(), "socket");
    const int one = 1; // a 64-byte message must not wait for Nagle
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

corio::task<> receive_exactly(int fd, std::span<std::byte> buffer) {
    for (std::size_t have = 0; have < buffer.size();) {
        const std::size_t n = co_await loop().sock_recv(fd, buffer.subspan(have));
        if (n == 0)
            throw std::runtime_error("S1: connection closed early");
        have += n;
    }
}

corio::task<> echo_until_closed(corio::unique_fd fd) {
    std::array<std::byte, 64> buffer;
    while (const std::size_t n = co_await loop().sock_recv(fd.get(), buffer))
        co_await loop().sock_sendall(fd.get(), std::span(buffer).first(n));
}

corio::task<> ping(corio::unique_fd fd, std::size_t round_trips) {
    std::array<std::byte, 64> message{};
    for (std::size_t i = 0; i < round_trips; ++i) {
        co_await loop().sock_sendall(fd.get(), message);
        co_await receive_exactly(fd.get(), message);
    }
}

// S1: `connections` TCP connections on 127.0.0.1, each a client task sending 64 bytes and
// waiting for their echo from a server task, through sock_sendall and sock_recv only: the
// loop and its backend without any stream layer.
corio::task<> tcp_ping_pong(std::size_t connections, std::size_t round_trips) {
    corio::unique_fd listening = tcp_socket();
    const corio::endpoint any("127.0.0.1", 0);
    sockaddr_storage bound{};
    socklen_t size = sizeof bound;
    if (::bind(listening.get(), any.data(), any.size()) < 0 || ::listen(listening.get(), 128) < 0 ||
        ::getsockname(listening.get(), reinterpret_cast<sockaddr*>(&bound), &size) < 0)
        throw std::system_error(errno, std::generic_category(), "S1: listen");
    const corio::endpoint address(reinterpret_cast<const sockaddr*>(&bound), size);
    std::vector<corio::task<>> pings, echoes;
    for (std::size_t c = 0; c < connections; ++c) {
        corio::unique_fd client = tcp_socket();
        co_await loop().sock_connect(client.get(), address);
        echoes.push_back(
            echo_until_closed(std::move((co_await loop().sock_accept(listening.get())).fd)));
        pings.push_back(ping(std::move(client), round_trips / connections));
    }
    auto servers = corio::spawn(corio::gather(std::move(echoes)));
    auto start = corio::clock::now();
    co_await corio::gather(std::move(pings)); // each client closes its socket when done
    double s = seconds_since(start);
    co_await servers;
    const std::size_t n = round_trips / connections * connections;
    report("S1",
           n,
           s,
           s * 1e9 / static_cast<double>(n),
           fmt::format(" connections={} round_trips_per_s={:.0f}",
                       connections,
                       static_cast<double>(n) / s));
}

// The command line: workload names, and --quick for the reduced sizes `make bench QUICK=1`
// runs.
struct options {
    std::vector<std::string_view> workloads;
    bool quick = false;

    options(int argc, char** argv) {
        for (int i = 1; i < argc; ++i) {
            const std::string_view arg = argv[i];
            if (arg == "--quick")
                quick = true;
            else
                workloads.push_back(arg);
        }
    }

    bool wanted(std::string_view workload) const {
        return workloads.empty() || std::ranges::find(workloads, workload) != workloads.end();
    }

    std::size_t size(std::size_t full, std::size_t reduced) const { return quick ? reduced : full; }
};

} // namespace

int main(int argc, char** argv) {
    try {
        impl_name();
    } catch (const std::system_error& e) { // io_uring refused here, or not built in
        const char* requested = std::getenv("CORIO_BACKEND");
        fmt::print("# {}: {}\n", requested ? requested : "automatic", e.what());
        return 0;
    }
    const options run(argc, argv);
    if (run.wanted("W1"))
        corio::run(task_churn(run.size(1'000'000, 200'000)));
    if (run.wanted("W2"))
        corio::run(fan_out(run.size(100'000, 20'000)));
    if (run.wanted("W3")) {
        corio::run(timers(100'000));
        if (!run.quick)
            corio::run(timers(1'000'000));
    }
    if (run.wanted("W6"))
        corio::run(queue_ping_pong(run.size(1'000'000, 200'000)));
    if (run.wanted("T1"))
        corio::run(to_thread_round_trip(run.size(100'000, 20'000)));
    if (run.wanted("T2"))
        corio::run(to_thread_blocking(64));
    if (run.wanted("S1")) {
        corio::run(tcp_ping_pong(1, run.size(100'000, 20'000)));
        corio::run(tcp_ping_pong(50, run.size(200'000, 50'000)));
    }
}
