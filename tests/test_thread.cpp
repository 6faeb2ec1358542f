// SPDX-License-Identifier: MIT
// to_thread and the loop's default thread pool: values, exceptions, move-only and reference
// types across threads; the loop running on while a call blocks; the pool's size and lazy
// start; cancellation of queued and running calls; run and the loop's destructor waiting for
// running calls; shutdown_default_executor; call_soon_threadsafe from many threads.
// Real time throughout: a virtual-time loop would jump its clock while a pool thread works.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <pthread.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

// What co_await yields for the awaitable type A.
template <class A>
using awaited_t = decltype(std::declval<A&>().await_resume());

// Threads of this process, as the kernel lists them.
std::size_t os_threads() {
    return static_cast<std::size_t>(
        std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                      std::filesystem::directory_iterator{}));
}

// os_threads once it holds still: a joined thread may linger in /proc for a moment. First,
// once, a thread is started and joined: ThreadSanitizer starts its own background thread
// with the process's first thread, which must not be counted as the pool's.
std::size_t settled_os_threads() {
    static const bool warmed_up = [] {
        std::thread([] {}).join();
        return true;
    }();
    (void)warmed_up;
    std::size_t n = os_threads();
    for (int i = 0; i < 200; ++i) {
        std::this_thread::sleep_for(5ms);
        const std::size_t again = os_threads();
        if (again == n)
            return n;
        n = again;
    }
    return n;
}

// Blocks the calling pool thread until `flag` is set, for 10 s at most: a failed check must
// not leave run() waiting forever for the pool.
void block_until(const std::atomic<bool>& flag) {
    const auto start = std::chrono::steady_clock::now();
    while (!flag.load() && std::chrono::steady_clock::now() - start < 10s)
        std::this_thread::sleep_for(1ms);
}

// Polls on the loop (which goes on meanwhile) until `done()`; false after `limit`.
template <class Pred>
corio::task<bool> eventually(Pred done, corio::clock::duration limit = 10s) {
    const auto start = corio::clock::now();
    while (!done()) {
        if (corio::clock::now() - start > limit)
            co_return false;
        co_await corio::sleep(1ms);
    }
    co_return true;
}

// Awaits to_thread(fn) and drops its value: a task to spawn, cancel or put in a group.
template <class F>
corio::task<> on_pool(F fn) {
    (void)co_await corio::to_thread(std::move(fn));
}

// How many times `what` appears in the running loop's dump_tasks.
std::size_t in_dump(const std::string& what) {
    std::ostringstream out;
    corio::get_running_loop().dump_tasks(out);
    const std::string text = out.str();
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

// A call that blocks its pool thread for `length`, and says when it started and finished.
struct slow_call {
    explicit slow_call(std::chrono::milliseconds l) : length(l) {}

    std::chrono::milliseconds length;
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};

    // What to_thread runs; it refers to this, which must outlive the call.
    auto job() {
        return [this] {
            started = true;
            std::this_thread::sleep_for(length);
            finished = true;
        };
    }
};

// Counts its constructions and destructions, from any thread.
struct counted {
    static inline std::atomic<long> made{0};
    static inline std::atomic<long> gone{0};

    int value;

    explicit counted(int v) : value(v) { ++made; }
    counted(const counted& other) : value(other.value) { ++made; }
    counted(counted&& other) noexcept : value(other.value) { ++made; }
    counted& operator=(const counted&) = default;
    counted& operator=(counted&&) = default;
    ~counted() { ++gone; }
};

struct coded_error : std::runtime_error {
    coded_error(const std::string& what, int c) : std::runtime_error(what), code(c) {}
    int code;
};

// Thrown as it is: not a std::exception.
struct not_std {
    std::string why;
};

struct adder {
    int base;
    [[nodiscard]] int add(int x) const { return base + x; }
};

int twice(int x) {
    return 2 * x;
}

bool signal_blocked(int sig) {
    sigset_t mask;
    sigemptyset(&mask);
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return sigismember(&mask, sig) == 1;
}

} // namespace

TEST_CASE("to_thread returns the function's value; the arguments are copied when it is called",
          "[thread]") {
    auto body = []() -> corio::task<> {
        auto join = [](const std::string& s, int n) {
            return s + std::to_string(n);
        };
        CHECK(co_await corio::to_thread(join, std::string("x"), 4) == "x4");
        CHECK(co_await corio::to_thread(twice, 21) == 42);
        CHECK(co_await corio::to_thread(&twice, 4) == 8);
        adder a{40};
        CHECK(co_await corio::to_thread(&adder::add, a, 2) == 42);
        CHECK(co_await corio::to_thread(&adder::add, &a, 3) == 43);
        auto length = [](const std::string& s) {
            return s.size();
        };
        CHECK(co_await corio::to_thread(length, "four") == 4U); // a literal decays, as std::thread

        // Copied when to_thread is called, not when the function runs.
        std::string word = "before";
        auto echo = [](const std::string& s) {
            return s;
        };
        auto call = corio::to_thread(echo, word);
        word = "after";
        CHECK(co_await std::move(call) == "before");
        // The function sees the copy, unless the argument is wrapped in std::cref.
        auto address = [](const std::string& s) {
            return &s;
        };
        CHECK(co_await corio::to_thread(address, word) != &word);
        CHECK(co_await corio::to_thread(address, std::cref(word)) == &word);
    };
    corio::run(body());
}

TEST_CASE("to_thread rethrows the function's exception with its type and message", "[thread]") {
    auto body = []() -> corio::task<> {
        auto fail = [](int code) -> int {
            throw coded_error("failed with " + std::to_string(code), code);
        };
        bool caught = false;
        try {
            (void)co_await corio::to_thread(fail, 7);
        } catch (const coded_error& e) {
            caught = true;
            CHECK(e.code == 7);
            CHECK(std::string(e.what()) == "failed with 7");
        }
        CHECK(caught);

        auto parse = [](const std::string& s) {
            return std::stoi(s);
        };
        CHECK_THROWS_AS(co_await corio::to_thread(parse, "not a number"), std::invalid_argument);

        auto fail_void = [] {
            throw std::out_of_range("void function failed");
        };
        std::string message;
        try {
            co_await corio::to_thread(fail_void);
        } catch (const std::out_of_range& e) {
            message = e.what();
        }
        CHECK(message == "void function failed");

        // The loop and the pool go on.
        CHECK(co_await corio::to_thread(parse, "12") == 12);
    };
    corio::run(body());
}

TEST_CASE("to_thread rethrows a non-std exception as it is", "[thread]") {
    auto body = []() -> corio::task<> {
        auto throw_int = []() -> int {
            throw 42;
        };
        int thrown = 0;
        try {
            (void)co_await corio::to_thread(throw_int);
        } catch (int v) {
            thrown = v;
        }
        CHECK(thrown == 42);

        auto throw_struct = [] {
            throw not_std{"plain struct"};
        };
        std::string why;
        try {
            co_await corio::to_thread(throw_struct);
        } catch (const not_std& e) {
            why = e.why;
        }
        CHECK(why == "plain struct");
    };
    corio::run(body());
}

TEST_CASE("to_thread takes move-only callables and arguments and returns move-only results",
          "[thread]") {
    auto body = []() -> corio::task<> {
        auto make = [](int v) {
            return std::make_unique<int>(v);
        };
        std::unique_ptr<int> made = co_await corio::to_thread(make, 5);
        REQUIRE(made);
        CHECK(*made == 5);

        auto owned = std::make_unique<int>(6);
        auto times_seven = [p = std::move(owned)] {
            return *p * 7;
        };
        static_assert(!std::is_copy_constructible_v<decltype(times_seven)>);
        CHECK(co_await corio::to_thread(std::move(times_seven)) == 42);

        auto increment = [](std::unique_ptr<int> p, int by) {
            *p += by;
            return p;
        };
        auto arg = std::make_unique<int>(8);
        std::unique_ptr<int> back = co_await corio::to_thread(increment, std::move(arg), 1);
        CHECK(arg == nullptr);
        REQUIRE(back);
        CHECK(*back == 9);

        // A function that returns T&& gives a T, moved out of what it referred to.
        auto source = std::make_unique<int>(10);
        auto release = [&source]() -> std::unique_ptr<int>&& {
            return std::move(source);
        };
        static_assert(
            std::is_same_v<awaited_t<decltype(corio::to_thread(release))>, std::unique_ptr<int>>);
        std::unique_ptr<int> taken = co_await corio::to_thread(release);
        CHECK(source == nullptr);
        REQUIRE(taken);
        CHECK(*taken == 10);
    };
    corio::run(body());
}

TEST_CASE("std::ref shares the caller's object; a reference result refers to the same object",
          "[thread]") {
    auto body = []() -> corio::task<> {
        int counter = 1;
        auto bump = [](int& c, int by) {
            c += by;
        };
        co_await corio::to_thread(bump, std::ref(counter), 41);
        CHECK(counter == 42);

        std::vector<int> items{1, 2, 3};
        auto last = [](std::vector<int>& v) -> int& {
            return v.back();
        };
        static_assert(
            std::is_same_v<awaited_t<decltype(corio::to_thread(last, std::ref(items)))>, int&>);
        int& r = co_await corio::to_thread(last, std::ref(items));
        CHECK(&r == &items.back());
        r = 30;
        CHECK(items[2] == 30);

        auto first = [&items]() -> const int& {
            return items.front();
        };
        static_assert(std::is_same_v<awaited_t<decltype(corio::to_thread(first))>, const int&>);
        const int& f = co_await corio::to_thread(first);
        CHECK(&f == items.data());
    };
    corio::run(body());
}

TEST_CASE("to_thread of a void function runs it and yields nothing", "[thread]") {
    std::atomic<int> calls{0};
    auto body = [&]() -> corio::task<> {
        auto count = [&calls] {
            ++calls;
        };
        static_assert(std::is_void_v<awaited_t<decltype(corio::to_thread(count))>>);
        co_await corio::to_thread(count);
        CHECK(calls == 1);
        co_await corio::to_thread(count);
        CHECK(calls == 2);
    };
    corio::run(body());
    CHECK(calls == 2);
}

TEST_CASE("the function runs on a pool thread and not before it is awaited", "[thread]") {
    std::atomic<bool> ran{false};
    std::atomic<bool> dropped_ran{false};
    std::thread::id loop_thread;
    std::thread::id pool_thread; // written on the pool thread, read once the call is back
    auto body = [&]() -> corio::task<> {
        loop_thread = std::this_thread::get_id();
        auto& pool = corio::get_running_loop().default_thread_pool();
        auto record = [&] {
            pool_thread = std::this_thread::get_id();
            ran = true;
            return 5;
        };
        auto call = corio::to_thread(record);
        {
            auto never = [&dropped_ran] {
                dropped_ran = true;
            };
            auto dropped = corio::to_thread(never); // destroyed unawaited
        }
        co_await corio::sleep(50ms);
        CHECK_FALSE(ran);
        CHECK(pool.size() == 0); // nothing submitted, no thread started
        CHECK(co_await std::move(call) == 5);
        CHECK(ran);
        CHECK(pool.size() >= 1);
        CHECK(pool_thread != std::this_thread::get_id());
    };
    corio::run(body());
    CHECK(pool_thread != loop_thread);
    CHECK(pool_thread != std::thread::id{});
    CHECK_FALSE(dropped_ran);
}

TEST_CASE("to_thread outside a running loop throws no_running_loop", "[thread]") {
    CHECK_THROWS_AS(corio::to_thread(twice, 1), corio::no_running_loop);
    // Nor does a pool thread have a running loop.
    auto body = []() -> corio::task<> {
        auto nested = [] {
            (void)corio::to_thread(twice, 1);
        };
        CHECK_THROWS_AS(co_await corio::to_thread(nested), corio::no_running_loop);
    };
    corio::run(body());
}

TEST_CASE("the loop runs other tasks while a call blocks its pool thread", "[thread]") {
    int ticks_during = 0;
    double elapsed = 0;
    auto body = [&]() -> corio::task<> {
        int ticks = 0;
        bool stop = false;
        auto ticker = [&]() -> corio::task<> {
            while (!stop) {
                co_await corio::sleep(10ms);
                ++ticks;
            }
        };
        auto h = corio::spawn(ticker());
        auto block = [] {
            std::this_thread::sleep_for(300ms);
            return 3;
        };
        const auto start = corio::clock::now();
        CHECK(co_await corio::to_thread(block) == 3);
        elapsed = seconds_since(start);
        ticks_during = ticks;
        stop = true;
        co_await h;
    };
    corio::run(body());
    CHECK(elapsed >= 0.29);
    CHECK(ticks_during >= 5); // about 30 on a quiet machine; 0 if the loop were blocked
}

TEST_CASE("the default pool runs max_size() calls at once: the smaller of 32 and cores + 4",
          "[thread]") {
    std::size_t n = 0;
    std::size_t started = 0;
    std::size_t threads_before = 0;
    std::size_t threads_during = 0;
    double elapsed = 0;
    auto body = [&]() -> corio::task<> {
        auto& pool = corio::get_running_loop().default_thread_pool();
        n = pool.max_size();
        const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
        CHECK(n == std::min<std::size_t>(32, cores + 4));
        threads_before = settled_os_threads();
        auto nap = [] {
            std::this_thread::sleep_for(200ms);
        };
        std::vector<decltype(corio::to_thread(nap))> calls;
        for (std::size_t i = 0; i < n; ++i)
            calls.push_back(corio::to_thread(nap));
        const auto start = corio::clock::now();
        auto all = corio::gather(std::move(calls));
        co_await std::move(all);
        elapsed = seconds_since(start);
        started = pool.size();
        threads_during = os_threads();
    };
    corio::run(body());
    INFO("pool of " << n << " threads; " << n << " calls of 200 ms took " << elapsed << " s");
    CHECK(started == n); // no thread was idle when each call came: one thread per call
    CHECK(threads_during == threads_before + n);
    CHECK(elapsed >= 0.19);
    CHECK(elapsed < 0.2 * static_cast<double>(n) * 2 / 3);
    CHECK(settled_os_threads() == threads_before); // run joined them
}

TEST_CASE("the pool never starts more than max_size() threads; later calls wait in line",
          "[thread]") {
    std::atomic<bool> open{false};
    std::atomic<std::size_t> started{0};
    std::atomic<std::size_t> running{0};
    std::atomic<std::size_t> peak{0};
    std::size_t n = 0;
    auto body = [&]() -> corio::task<> {
        auto& pool = corio::get_running_loop().default_thread_pool();
        n = pool.max_size();
        const std::size_t threads_before = settled_os_threads();
        auto job = [&] {
            const std::size_t now = ++running;
            std::size_t seen = peak.load();
            while (seen < now && !peak.compare_exchange_weak(seen, now)) {
            }
            ++started;
            block_until(open);
            --running;
        };
        std::vector<corio::task<>> jobs;
        for (std::size_t i = 0; i < 3 * n; ++i)
            jobs.push_back(on_pool(job));
        auto all = corio::spawn(corio::gather(std::move(jobs)));
        CHECK(co_await eventually([&] { return started.load() == n; }));
        co_await corio::sleep(50ms); // time for a wrong extra thread to start
        CHECK(started == n);
        CHECK(pool.size() == n);
        CHECK(os_threads() == threads_before + n);
        CHECK(in_dump("to_thread, running on a pool thread") == n);
        CHECK(in_dump("to_thread, queued for a pool thread") == 2 * n);
        open = true;
        co_await all;
        CHECK(started == 3 * n);
        CHECK(pool.size() == n);
    };
    corio::run(body());
    CHECK(peak <= n);
}

TEST_CASE("a program that never calls to_thread starts no thread", "[thread]") {
    const std::size_t before = settled_os_threads();
    std::size_t during = 0;
    std::size_t pool_threads = 1;
    auto body = [&]() -> corio::task<> {
        co_await corio::gather(value_after(1, 10ms), value_after(2, 20ms));
        auto h = corio::spawn(nothing_after(1h));
        co_await settle();
        h.cancel();
        CHECK(co_await ended_cancelled(h));
        auto& loop = corio::get_running_loop();
        loop.call_soon_threadsafe([] {}); // from the loop's own thread: no thread either
        co_await settle();
        during = os_threads();
        pool_threads = loop.default_thread_pool().size();
    };
    corio::run(body());
    CHECK(during == before);
    CHECK(pool_threads == 0);
}

TEST_CASE("cancelling a task awaiting a running call resumes it at once; the call runs on",
          "[thread]") {
    slow_call call(300ms);
    double resumed_after = -1;
    bool finished_when_resumed = true;
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(on_pool(call.job()));
        CHECK(co_await eventually([&] { return call.started.load(); }));
        CHECK(in_dump("to_thread, running on a pool thread") == 1);
        const auto start = corio::clock::now();
        h.cancel();
        CHECK(co_await ended_cancelled(h));
        resumed_after = seconds_since(start);
        finished_when_resumed = call.finished;
        CHECK(other_live_tasks() == 0);
    };
    const auto start = corio::clock::now();
    corio::run(body());
    CHECK(resumed_after >= 0);
    CHECK(resumed_after < 0.1); // not the 300 ms the call takes
    CHECK_FALSE(finished_when_resumed);
    CHECK(call.finished); // run waited for it
    CHECK(seconds_since(start) >= 0.29);
}

TEST_CASE("a call still queued when its task is cancelled never runs", "[thread]") {
    std::atomic<bool> open{false};
    std::atomic<std::size_t> started{0};
    std::atomic<bool> victim_ran{false};
    auto token = std::make_shared<int>(0); // held by the victim's callable
    std::size_t n = 0;
    auto body = [&]() -> corio::task<> {
        auto& pool = corio::get_running_loop().default_thread_pool();
        n = pool.max_size();
        auto blocker = [&] {
            ++started;
            block_until(open);
        };
        std::vector<corio::task<>> blockers;
        for (std::size_t i = 0; i < n; ++i)
            blockers.push_back(on_pool(blocker));
        auto all = corio::spawn(corio::gather(std::move(blockers)));
        CHECK(co_await eventually([&] { return started.load() == n; }));

        auto victim_fn = [&victim_ran, token] {
            victim_ran = true;
        };
        auto victim = corio::spawn(on_pool(victim_fn));
        co_await settle();
        CHECK(in_dump("to_thread, queued for a pool thread") == 1);
        const auto start = corio::clock::now();
        victim.cancel();
        CHECK(co_await ended_cancelled(victim));
        CHECK(seconds_since(start) < 0.1);
        open = true; // the pool reaches the victim's job now, and skips it
        co_await all;
        co_await corio::to_thread([] {}); // behind the victim's job in the line
        CHECK(started == n);
        CHECK(pool.size() == n);
    };
    corio::run(body());
    CHECK_FALSE(victim_ran);
    CHECK(token.use_count() == 1); // the callable and its copy of the token are gone
}

TEST_CASE("a task cancelled before it awaits to_thread ends cancelled and the call never runs",
          "[thread]") {
    // The cancellation is pending when the task reaches to_thread (asyncio's Task.cancel on a
    // running task): the task must end cancelled without handing the call to a pool thread,
    // which could otherwise start it before the cancellation reaches it.
    constexpr int rounds = 200;
    std::atomic<int> runs{0};
    int cancelled = 0;
    std::size_t pool_threads = 1;
    auto body = [&]() -> corio::task<> {
        auto count = [&runs] {
            ++runs;
        };
        auto self_cancelling = [&]() -> corio::task<> {
            corio::current_task().cancel();
            co_await corio::to_thread(count);
        };
        for (int i = 0; i < rounds; ++i)
            cancelled += co_await ended_cancelled(corio::spawn(self_cancelling())) ? 1 : 0;
        pool_threads = corio::get_running_loop().default_thread_pool().size();
    };
    corio::run(body());
    CHECK(cancelled == rounds);
    CHECK(runs == 0);
    CHECK(pool_threads == 0); // nothing was submitted: no thread started either
}

TEST_CASE("a result that came back before the cancellation is returned; the cancellation waits for "
          "the next suspension",
          "[thread]") {
    auto body = []() -> corio::task<> {
        int got = 0;
        bool cancelled_after = false;
        auto quick = [] {
            std::this_thread::sleep_for(20ms);
            return 7;
        };
        auto caller = [&]() -> corio::task<> {
            got = co_await corio::to_thread(quick);
            try {
                co_await corio::sleep(0s);
            } catch (const corio::cancelled_error&) {
                cancelled_after = true;
                throw;
            }
        };
        auto h = corio::spawn(caller());
        // Cancel in the window after the result is back and before the caller resumes.
        const auto start = corio::clock::now();
        while (in_dump("to_thread, done") == 0 && seconds_since(start) < 10)
            co_await corio::sleep(0s);
        REQUIRE(in_dump("to_thread, done") == 1);
        h.cancel();
        CHECK(co_await ended_cancelled(h));
        CHECK(got == 7);
        CHECK(cancelled_after);
    };
    corio::run(body());
}

TEST_CASE("a cancelled call's result or exception is dropped: neither leaked nor reported",
          "[thread]") {
    const long made_before = counted::made;
    const long gone_before = counted::gone;
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
    int reports = 0;
    auto body = [&]() -> corio::task<> {
        corio::get_running_loop().set_exception_handler(
            [&](corio::event_loop&, const corio::exception_context&) { ++reports; });
        auto value_job = [&] {
            ++started;
            std::this_thread::sleep_for(100ms);
            ++finished;
            return counted(1);
        };
        auto failing_job = [&]() -> int {
            ++started;
            std::this_thread::sleep_for(100ms);
            ++finished;
            throw std::runtime_error("nobody hears this");
        };
        auto a = corio::spawn(on_pool(value_job));
        auto b = corio::spawn(on_pool(failing_job));
        CHECK(co_await eventually([&] { return started.load() == 2; }));
        a.cancel();
        b.cancel();
        CHECK(co_await ended_cancelled(a));
        CHECK(co_await ended_cancelled(b));
        // The results come back to nobody.
        CHECK(co_await eventually([&] { return finished.load() == 2; }));
        co_await corio::sleep(50ms);
    };
    corio::run(body());
    CHECK(finished == 2);
    CHECK(reports == 0);
    CHECK(counted::made - made_before >= 1);
    CHECK(counted::made - made_before == counted::gone - gone_before);
}

TEST_CASE("wait_for on to_thread times out at once; the call runs to its end", "[thread]") {
    std::atomic<bool> finished{false};
    bool timed_out = false;
    double elapsed = 0;
    auto body = [&]() -> corio::task<> {
        auto slow = [&] {
            std::this_thread::sleep_for(300ms);
            finished = true;
            return 1;
        };
        const auto start = corio::clock::now();
        try {
            (void)co_await corio::wait_for(corio::to_thread(slow), 50ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        elapsed = seconds_since(start);
    };
    corio::run(body());
    CHECK(timed_out);
    CHECK(elapsed >= 0.045);
    CHECK(elapsed < 0.2);
    CHECK(finished);
}

TEST_CASE("10000 calls from 100 tasks with a third cancelled midway: right results and no leak",
          "[thread]") {
    constexpr int tasks = 100;
    constexpr int calls = 100;
    const long made_before = counted::made;
    const long gone_before = counted::gone;
    int cancelled = 0;
    int completed = 0;
    auto body = [&]() -> corio::task<> {
        std::vector<int> right(tasks, 0); // loop thread only
        std::vector<int> wrong(tasks, 0);
        int total = 0;
        auto worker = [&](int k) -> corio::task<> {
            auto encode = [](int a, int b) {
                return counted(a * 1000 + b);
            };
            for (int i = 0; i < calls; ++i) {
                counted c = co_await corio::to_thread(encode, k, i);
                ++(c.value == k * 1000 + i ? right : wrong)[k];
                ++total;
            }
        };
        std::vector<corio::task_handle<>> handles;
        for (int k = 0; k < tasks; ++k)
            handles.push_back(corio::spawn(worker(k)));
        CHECK(co_await eventually([&] { return total >= tasks * calls / 3; }));
        for (int k = 0; k < tasks; k += 3)
            handles[k].cancel();
        for (int k = 0; k < tasks; ++k) {
            if (k % 3 == 0 && co_await ended_cancelled(handles[k])) {
                ++cancelled;
                CHECK(right[k] < calls);
            } else {
                co_await handles[k];
                ++completed;
                CHECK(right[k] == calls);
            }
            CHECK(wrong[k] == 0);
        }
        CHECK(other_live_tasks() == 0);
    };
    const auto start = corio::clock::now();
    corio::run(body());
    INFO("took " << seconds_since(start) << " s");
    CHECK(cancelled > 0); // a third of the tasks, unless one finished before the cancel
    CHECK(cancelled + completed == tasks);
    CHECK(completed >= tasks - (tasks + 2) / 3);
    CHECK(counted::made - made_before >= static_cast<long>(completed) * calls);
    CHECK(counted::made - made_before == counted::gone - gone_before);
}

TEST_CASE("run waits for the calls still running when main returns", "[thread]") {
    const std::size_t threads_before = settled_os_threads();
    slow_call call(300ms);
    auto body = [&]() -> corio::task<> {
        (void)corio::spawn(on_pool(call.job()));
        CHECK(co_await eventually([&] { return call.started.load(); }));
    }; // run cancels the spawned task, which resumes at once, then waits for the call
    const auto start = corio::clock::now();
    corio::run(body());
    CHECK(call.finished);
    CHECK(seconds_since(start) >= 0.29);
    CHECK(settled_os_threads() == threads_before);
}

TEST_CASE("run rethrows main's exception only once the calls still running are done", "[thread]") {
    slow_call call(200ms);
    auto body = [&]() -> corio::task<> {
        (void)corio::spawn(on_pool(call.job()));
        CHECK(co_await eventually([&] { return call.started.load(); }));
        throw std::runtime_error("main failed");
    };
    const auto start = corio::clock::now();
    CHECK_THROWS_WITH(corio::run(body()), "main failed");
    CHECK(call.finished);
    CHECK(seconds_since(start) >= 0.19);
}

TEST_CASE("SIGINT while main awaits to_thread cancels main at once; run waits for the call and "
          "then throws keyboard_interrupt",
          "[thread][signal]") {
    std::atomic<bool> finished{false};
    double cancelled_after = -1;
    bool finished_when_cancelled = true;
    auto job = [&] {
        ::kill(::getpid(), SIGINT); // Ctrl+C, to the process: pool threads block it
        std::this_thread::sleep_for(300ms);
        finished = true;
    };
    auto body = [&]() -> corio::task<> {
        const auto start = corio::clock::now();
        try {
            co_await corio::to_thread(job);
        } catch (const corio::cancelled_error&) {
            cancelled_after = seconds_since(start);
            finished_when_cancelled = finished;
            throw;
        }
    };
    const auto start = corio::clock::now();
    CHECK_THROWS_AS(corio::run(body()), corio::keyboard_interrupt);
    CHECK(cancelled_after >= 0);
    CHECK(cancelled_after < 0.2);
    CHECK_FALSE(finished_when_cancelled);
    CHECK(finished);
    CHECK(seconds_since(start) >= 0.29);
}

TEST_CASE("a loop destroyed with a call running waits for it", "[thread]") {
    slow_call call(300ms);
    auto job = [&call] {
        call.job()();
        return counted(3);
    };
    const long made_before = counted::made;
    const long gone_before = counted::gone;
    auto body = [&]() -> corio::task<> {
        (void)corio::spawn(on_pool(job));
        CHECK(co_await eventually([&] { return call.started.load(); }));
    };
    const auto start = corio::clock::now();
    double returned_after = 0;
    bool finished_at_return = true;
    {
        corio::event_loop loop;
        loop.run_until_complete(body()); // the spawned task stays suspended in to_thread
        returned_after = seconds_since(start);
        finished_at_return = call.finished;
    }
    CHECK(call.finished);
    CHECK(seconds_since(start) >= 0.29);
    if (returned_after < 0.2) // run_until_complete itself does not wait for the pool
        CHECK_FALSE(finished_at_return);
    CHECK(counted::made - made_before >= 1);
    CHECK(counted::made - made_before == counted::gone - gone_before);
}

TEST_CASE("to_thread after shutdown_default_executor throws invalid_state_error when awaited",
          "[thread]") {
    std::atomic<bool> ran{false};
    auto later = [&]() -> corio::task<bool> {
        auto mark = [&ran] {
            ran = true;
        };
        auto call = corio::to_thread(mark); // making the awaitable does not throw yet
        try {
            co_await std::move(call);
        } catch (const corio::invalid_state_error&) {
            co_return true;
        }
        co_return false;
    };

    corio::event_loop loop;
    auto one = [] {
        return 1;
    };
    auto first = [&]() -> corio::task<int> {
        co_return co_await corio::to_thread(one);
    };
    CHECK(loop.run_until_complete(first()) == 1);
    loop.shutdown_default_executor();
    CHECK(loop.run_until_complete(later()));
    loop.shutdown_default_executor(); // again: nothing left to do
    CHECK(loop.run_until_complete(later()));
    CHECK_THROWS_AS(loop.default_thread_pool(), corio::invalid_state_error);

    // On a loop whose pool never started, too.
    corio::event_loop fresh;
    fresh.shutdown_default_executor();
    CHECK(fresh.run_until_complete(later()));
    CHECK_FALSE(ran);
}

TEST_CASE("to_thread throws std::system_error when the pool cannot start a thread", "[thread]") {
    // In a child process, as an unprivileged user allowed no more processes: thread creation
    // fails with EAGAIN. The task gets the error and is not left suspended on the failed call.
    std::fflush(nullptr);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // RLIMIT_NPROC does not bind root: as root, become nobody first.
        const bool root = ::geteuid() == 0;
        const rlimit none{0, 0};
        if ((root && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ||
            ::setrlimit(RLIMIT_NPROC, &none) != 0)
            ::_exit(2);
        auto body = []() -> corio::task<int> {
            auto one = [] {
                return 1;
            };
            bool failed = false;
            try {
                (void)co_await corio::to_thread(one);
            } catch (const std::system_error&) {
                failed = true;
            }
            // Running again, and waiting on nothing: a cancellation waits for the next
            // suspension.
            corio::current_task().cancel();
            bool cancelled = false;
            try {
                co_await corio::sleep(1ms);
            } catch (const corio::cancelled_error&) {
                cancelled = true;
            }
            co_return failed&& cancelled ? 0 : 1;
        };
        ::_exit(corio::run(body()));
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    const int code = WEXITSTATUS(status);
    INFO("exit code 2: the child could not limit its processes");
    CHECK(code == 0);
}

TEST_CASE("call_soon_threadsafe from four threads at once: every callback runs once", "[thread]") {
    constexpr int senders = 4;
    constexpr int per_sender = 10000;
    constexpr long total = static_cast<long>(senders) * per_sender;
    corio::event_loop loop;
    long count = 0; // loop thread only
    bool in_time = false;
    auto body = [&]() -> corio::task<> {
        corio::event all_in;
        std::atomic<int> ready{0};
        std::atomic<bool> go{false};
        auto add = [&](long by) {
            count += by;
            if (count == total)
                all_in.set();
        };
        std::vector<std::thread> threads;
        for (int t = 0; t < senders; ++t)
            threads.emplace_back([&] {
                ++ready;
                while (!go)
                    std::this_thread::yield();
                for (int i = 0; i < per_sender; ++i)
                    loop.call_soon_threadsafe(add, 1L);
            });
        while (ready < senders)
            std::this_thread::yield();
        go = true;
        try {
            co_await corio::wait_for(all_in.wait(), 10s);
            in_time = true;
        } catch (const corio::timeout_error&) {
        }
        for (auto& t : threads)
            t.join();
        co_await settle();
    };
    loop.run_until_complete(body());
    CHECK(in_time);
    CHECK(count == total);
}

TEST_CASE("call_soon_threadsafe from a pool thread wakes the loop while the call goes on",
          "[thread]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        corio::event posted;
        int got = 0;
        std::atomic<bool> done{false};
        auto job = [&] {
            loop.call_soon_threadsafe(
                [&](int v) {
                    got = v;
                    posted.set();
                },
                7);
            block_until(done);
        };
        auto h = corio::spawn(on_pool(job));
        // Nothing else to do: the loop sleeps in the backend until the callback wakes it.
        const auto start = corio::clock::now();
        bool woke = false;
        try {
            co_await corio::wait_for(posted.wait(), 5s);
            woke = true;
        } catch (const corio::timeout_error&) {
        }
        const double elapsed = seconds_since(start);
        done = true;
        co_await h;
        CHECK(woke);
        CHECK(elapsed < 1);
        CHECK(got == 7);
    };
    corio::run(body());
}

TEST_CASE("a failing to_thread in gather or a task_group fails it as any child would", "[thread]") {
    auto body = []() -> corio::task<> {
        auto ok = [] {
            return 1;
        };
        auto fail = []() -> int {
            std::this_thread::sleep_for(20ms);
            throw std::runtime_error("pool failure");
        };

        std::vector<std::string> log;
        std::string message;
        try {
            (void)co_await corio::gather(
                corio::to_thread(ok), corio::to_thread(fail), sleeper(1h, log, "slow"));
        } catch (const std::runtime_error& e) {
            message = e.what();
        }
        CHECK(message == "pool failure");
        CHECK(log == std::vector<std::string>{"slow cancelled"});

        auto outcomes = co_await corio::gather(
            corio::return_exceptions, corio::to_thread(ok), corio::to_thread(fail));
        CHECK(std::get<0>(outcomes).value() == 1);
        CHECK_THROWS_WITH(std::get<1>(outcomes).value(), "pool failure");

        log.clear();
        std::vector<std::string> group;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn(on_pool(fail));
            tg.spawn(sleeper(1h, log, "child"));
            co_await sleeper(1h, log, "body");
        };
        try {
            co_await corio::with(corio::task_group{}, scope);
        } catch (const corio::exception_group& g) {
            group = messages(g);
        }
        CHECK(group == std::vector<std::string>{"pool failure"});
        std::sort(log.begin(), log.end());
        CHECK(log == std::vector<std::string>{"body cancelled", "child cancelled"});
    };
    corio::run(body());
}

TEST_CASE("pool threads block signals; the loop's thread keeps its mask", "[thread]") {
    const bool sigint_before = signal_blocked(SIGINT);
    const bool sigusr1_before = signal_blocked(SIGUSR1);
    bool on_pool_sigint = false;
    bool on_pool_sigterm = false;
    auto body = [&]() -> corio::task<> {
        auto blocked = [] {
            return std::pair{signal_blocked(SIGINT), signal_blocked(SIGTERM)};
        };
        const auto both = co_await corio::to_thread(blocked);
        on_pool_sigint = both.first;
        on_pool_sigterm = both.second;
        CHECK(signal_blocked(SIGINT) == sigint_before);
    };
    corio::run(body());
    CHECK(on_pool_sigint);
    CHECK(on_pool_sigterm);
    CHECK(signal_blocked(SIGINT) == sigint_before);
    CHECK(signal_blocked(SIGUSR1) == sigusr1_before);
}

TEST_CASE("a second cancel of a task awaiting to_thread resumes it once", "[thread]") {
    // Twice cancelled while it waits (asyncio allows it, and a double SIGINT does it): a
    // second resume would cut the sleep that follows short, or step a finished frame.
    double slept = -1;
    auto worker = [&]() -> corio::task<> {
        try {
            co_await corio::to_thread([] { std::this_thread::sleep_for(50ms); });
        } catch (const corio::cancelled_error&) {
        }
        const auto start = corio::clock::now();
        co_await corio::sleep(100ms);
        slept = seconds_since(start);
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(worker());
        co_await corio::sleep(10ms);
        h.cancel();
        h.cancel();
        co_await h;
        co_await corio::sleep(50ms); // a stale resume would step the finished frame here
    };
    corio::run(body());
    CHECK(slept >= 0.095);
}

TEST_CASE("awaiting a to_thread awaitable twice throws invalid_state_error", "[thread]") {
    std::atomic<int> runs{0};
    auto body = [&]() -> corio::task<bool> {
        auto call = corio::to_thread([&runs] { return ++runs; });
        CHECK(co_await call == 1);
        try {
            (void)co_await call;
        } catch (const corio::invalid_state_error&) {
            co_return true;
        }
        co_return false;
    };
    CHECK(corio::run(body()));
    CHECK(runs == 1);
}

TEST_CASE("run keeps the loop running while it waits for the pool: a call may still call back",
          "[thread]") {
    // asyncio's run_coroutine_threadsafe(...).result() from a thread, after main returned.
    std::atomic<int> answer{0};
    auto body = [&]() -> corio::task<> {
        corio::event_loop* loop = &corio::get_running_loop();
        auto ask_the_loop = [loop, &answer] {
            std::this_thread::sleep_for(50ms); // main has returned by now
            std::promise<int> reply;
            loop->call_soon_threadsafe([&reply] { reply.set_value(7); });
            auto future = reply.get_future();
            if (future.wait_for(5s) == std::future_status::ready)
                answer = future.get();
        };
        (void)corio::spawn(on_pool(ask_the_loop));
        co_await corio::sleep(10ms);
    };
    corio::run(body());
    CHECK(answer == 7);
}

TEST_CASE("shutdown_default_executor inside a task throws invalid_state_error", "[thread]") {
    auto body = []() -> corio::task<> {
        corio::get_running_loop().shutdown_default_executor();
        co_return;
    };
    CHECK_THROWS_AS(corio::run(body()), corio::invalid_state_error);
}

namespace {

// Hands itself back to its loop, from whichever thread drops it.
struct lease {
    corio::event_loop* home;
    std::atomic<int>* returned;
    lease(corio::event_loop* l, std::atomic<int>* r) : home(l), returned(r) {}
    lease(lease&& other) noexcept
        : home(std::exchange(other.home, nullptr)), returned(other.returned) {}
    lease& operator=(lease&&) = delete;
    ~lease() {
        if (home != nullptr) {
            home->call_soon_threadsafe([] {});
            ++*returned;
        }
    }
};

} // namespace

TEST_CASE("a dropped result whose destructor posts to the loop does not deadlock its closing",
          "[thread]") {
    std::atomic<int> returned{0};
    auto body = [&]() -> corio::task<bool> {
        corio::event_loop* loop = &corio::get_running_loop();
        auto make_lease = [loop, &returned] {
            std::this_thread::sleep_for(100ms);
            return lease(loop, &returned);
        };
        try {
            (void)co_await corio::wait_for(corio::to_thread(make_lease), 10ms);
        } catch (const corio::timeout_error&) {
            co_return true;
        }
        co_return false;
    };
    CHECK(corio::run(body()));
    CHECK(returned == 1);
}
