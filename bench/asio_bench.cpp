// SPDX-License-Identifier: MIT
// Asio's side of the workloads of docs/benchmarks.md that corio_bench runs for corio: W1 task
// churn, W2 fan-out, W3 timers, W6 queue ping-pong, with Asio's C++20 coroutines
// (asio::awaitable, co_spawn, use_awaitable, experimental::channel), the same parameters and
// the same one-line output. Each workload runs on its own single-threaded io_context.
// Usage: asio_bench [--quick] [W1|W2|W3|W6]...  (all when none is named; --quick: smaller N)

// Asio 1.22 turns co_await support on for clang only when libc++'s <experimental/coroutine>
// exists, so clang with libstdc++ would get no asio::awaitable at all; clang 14 compiles
// Asio's coroutines on libstdc++'s <coroutine>, which Asio then picks.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#endif

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <asio/experimental/channel.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fmt/core.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench_memory.hpp"

namespace {

using bench::bytes_per_op;
using bench::current_rss_kb;
using bench::peak_rss_kb;

using clock_type = std::chrono::steady_clock;

void report(std::string_view workload,
            std::size_t n,
            double seconds,
            double per_op_ns,
            std::string_view extra = {}) {
    fmt::print("workload={} impl=asio n={} seconds={:.4f} per_op_ns={:.1f} rss_kb={}{}\n",
               workload,
               n,
               seconds,
               per_op_ns,
               peak_rss_kb(),
               extra);
    std::fflush(stdout); // a pipe would hold the lines of a slow run back until the end
}

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

void check(bool ok, const char* message) {
    if (!ok)
        throw std::logic_error(message);
}

// co_spawn's completion handler for a workload: a failure inside the coroutine leaves
// io_context::run as the exception itself, so main reports it.
void rethrow(std::exception_ptr failure) {
    if (failure)
        std::rethrow_exception(failure);
}

// Asio has no gather: spawn every task, count them as they finish, and wake the waiting
// coroutine through a timer that never expires on its own but is cancelled by the last one.
asio::awaitable<std::size_t> gather(std::vector<asio::awaitable<void>> tasks) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    const std::size_t n = tasks.size();
    std::size_t finished = 0;
    std::exception_ptr failure;
    for (auto& task : tasks)
        asio::co_spawn(ex, std::move(task), [&](std::exception_ptr e) {
            if (e && !failure)
                failure = e;
            if (++finished == n)
                all_done.cancel();
        });
    if (finished < n) { // cancel() before the wait starts would wake nobody
        asio::error_code cancelled;
        co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, cancelled));
    }
    if (failure)
        std::rethrow_exception(failure);
    co_return finished;
}

asio::awaitable<int> trivial(int i) {
    co_return i;
}

// W1: sequentially create and await trivial coroutines, inline and through co_spawn.
asio::awaitable<void> task_churn(std::size_t n) {
    auto ex = co_await asio::this_coro::executor;
    const long long expected = static_cast<long long>(n) * (static_cast<long long>(n) - 1) / 2;
    long long sum = 0;
    auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i)
        sum += co_await trivial(static_cast<int>(i));
    double inline_s = seconds_since(start);
    check(sum == expected, "W1-await: wrong sum"); // also keeps the sum observable
    report("W1-await", n, inline_s, inline_s * 1e9 / static_cast<double>(n));

    sum = 0;
    start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i)
        sum += co_await asio::co_spawn(ex, trivial(static_cast<int>(i)), asio::use_awaitable);
    double spawn_s = seconds_since(start);
    check(sum == expected, "W1-spawn: wrong sum");
    report("W1-spawn", n, spawn_s, spawn_s * 1e9 / static_cast<double>(n));
}

// asyncio.sleep(0)'s counterpart: a post of the resumption to the back of the loop's queue,
// with no timer involved.
asio::awaitable<void> yield_once() {
    co_await asio::post(asio::use_awaitable);
}

// W2: create N tasks that each yield once, gather them all.
asio::awaitable<void> fan_out(std::size_t n) {
    const long baseline_kb = current_rss_kb();
    std::vector<asio::awaitable<void>> tasks;
    tasks.reserve(n);
    auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i)
        tasks.push_back(yield_once());
    const std::size_t finished = co_await gather(std::move(tasks));
    double s = seconds_since(start);
    check(finished == n, "W2: tasks were lost");
    report("W2", n, s, s * 1e9 / static_cast<double>(n), bytes_per_op(baseline_kb, n));
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

// W3: N concurrent sleeps of x % 100 ms, x an LCG from seed 12345; the figure is the wall
// time beyond the longest sleep (0.1 s), per task.
asio::awaitable<void> timers(std::size_t n) {
    const long baseline_kb = current_rss_kb();
    std::vector<asio::awaitable<void>> tasks;
    tasks.reserve(n);
    std::uint32_t x = 12345;
    auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        x = static_cast<std::uint32_t>((x * 1103515245ull + 12345ull) % (1ull << 31));
        tasks.push_back(sleep_for(std::chrono::milliseconds(x % 100)));
    }
    const std::size_t finished = co_await gather(std::move(tasks));
    double s = seconds_since(start);
    check(finished == n, "W3: sleepers were lost");
    report("W3", n, s, (s - 0.1) * 1e9 / static_cast<double>(n), bytes_per_op(baseline_kb, n));
}

// Capacity 1 behaves as asyncio.Queue(maxsize=1) and corio::queue(1): a send completes at
// once while the slot is free and waits while it holds an item; a receive takes the item and
// moves a waiting sender's into the slot. Capacity 0 would be a rendezvous, where every send
// waits for a receiver: a different hand-off from the peers'.
using channel = asio::experimental::channel<void(asio::error_code, std::size_t)>;

asio::awaitable<void> produce(channel& ch, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        co_await ch.async_send(asio::error_code{}, i, asio::use_awaitable);
}

asio::awaitable<void> consume(channel& ch, std::size_t n, std::size_t& sum) {
    for (std::size_t i = 0; i < n; ++i)
        sum += co_await ch.async_receive(asio::use_awaitable);
}

// W6: two tasks exchange N messages through a channel of capacity 1, so every message is a
// hand-off between them.
asio::awaitable<void> queue_ping_pong(std::size_t n) {
    channel ch(co_await asio::this_coro::executor, 1);
    std::size_t sum = 0;
    auto start = clock_type::now();
    std::vector<asio::awaitable<void>> both;
    both.push_back(produce(ch, n));
    both.push_back(consume(ch, n, sum));
    co_await gather(std::move(both));
    double s = seconds_since(start);
    check(sum == n * (n - 1) / 2, "W6: messages were lost");
    report("W6", n, s, s * 1e9 / static_cast<double>(n));
}

template <typename Workload>
void run(Workload workload, std::size_t n) {
    asio::io_context ctx(1); // one thread: the peers all run on a single-threaded loop
    asio::co_spawn(ctx, workload(n), rethrow);
    ctx.run();
}

constexpr std::array<std::string_view, 4> workload_names{"W1", "W2", "W3", "W6"};

} // namespace

int main(int argc, char** argv) {
    bool quick = false;
    std::vector<std::string_view> named;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            quick = true;
            continue;
        }
        bool known = false;
        for (auto name : workload_names)
            known = known || arg == name;
        if (!known) {
            fmt::print(stderr, "usage: asio_bench [--quick] [W1|W2|W3|W6]...\n");
            return 2;
        }
        named.push_back(arg);
    }
    auto wanted = [&](std::string_view workload) {
        if (named.empty())
            return true;
        for (auto name : named)
            if (name == workload)
                return true;
        return false;
    };
    try {
        if (wanted("W1"))
            run(task_churn, quick ? 200'000 : 1'000'000);
        if (wanted("W2"))
            run(fan_out, quick ? 20'000 : 100'000);
        if (wanted("W3")) {
            run(timers, 100'000);
            if (!quick)
                run(timers, 1'000'000);
        }
        if (wanted("W6"))
            run(queue_ping_pong, quick ? 200'000 : 1'000'000);
    } catch (const std::exception& e) {
        fmt::print(stderr, "asio_bench: {}\n", e.what());
        return 1;
    }
}
