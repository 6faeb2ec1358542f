// SPDX-License-Identifier: MIT
// run and event_loop: results, shutdown of leftover tasks, backend selection, misuse.
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

corio::task<int> answer() {
    co_return 42;
}

bool io_uring_works() {
    try {
        corio::detail::make_io_uring_backend();
        return true;
    } catch (const std::system_error&) {
        return false;
    }
}

using signal_handler = void (*)(int);

signal_handler sigint_disposition() {
    struct sigaction current {};
    REQUIRE(::sigaction(SIGINT, nullptr, &current) == 0);
    return current.sa_handler;
}

volatile std::sig_atomic_t own_handler_calls = 0;
void own_handler(int) {
    own_handler_calls = own_handler_calls + 1;
}

} // namespace

TEST_CASE("run returns main's value and rethrows its exception", "[run]") {
    CHECK(corio::run(answer()) == 42);
    auto failing = []() -> corio::task<> {
        co_await corio::sleep(1ms);
        throw std::invalid_argument("bad");
    };
    CHECK_THROWS_AS(corio::run(failing()), std::invalid_argument);
    CHECK(corio::run(answer()) == 42); // a second run after a failed one works
}

TEST_CASE("run uses the backend CORIO_BACKEND names", "[run]") {
    auto body = []() -> corio::task<std::string> {
        co_return std::string(corio::get_running_loop().backend_name());
    };
    std::string expected = requested_backend();
    if (expected.empty()) // automatic: io_uring when it can be had
        expected = io_uring_works() ? "io_uring" : "epoll";
    CHECK(corio::run(body()) == expected);
}

TEST_CASE("run cancels leftover tasks and waits for their clean-up", "[run]") {
    bool cleaned_up = false;
    auto leftover = [&]() -> corio::task<> {
        bool cancelled = false;
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        REQUIRE(cancelled);
        co_await corio::sleep(5ms); // clean-up that itself suspends
        cleaned_up = true;
        throw corio::cancelled_error();
    };
    auto body = [&]() -> corio::task<> {
        (void)corio::spawn(leftover());
        co_await corio::sleep(1ms);
    };
    auto start = corio::clock::now();
    corio::run(body());
    CHECK(cleaned_up);
    CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("run shutdown cancels a task that swallowed an earlier cancellation", "[run]") {
    bool swallowed = false;
    bool cancelled_at_shutdown = false;
    auto stubborn = [&]() -> corio::task<> {
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            swallowed = true;
        }
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            cancelled_at_shutdown = true;
            throw;
        }
    };
    auto body = [&]() -> corio::task<> {
        auto h = corio::spawn(stubborn());
        co_await corio::sleep(1ms);
        h.cancel();
        co_await corio::sleep(1ms);
    };
    auto start = corio::clock::now();
    corio::run(body());
    CHECK(swallowed);
    CHECK(cancelled_at_shutdown);
    CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("run or run_until_complete inside a running loop throws invalid_state_error", "[run]") {
    corio::event_loop loop;
    auto body = [&]() -> corio::task<int> {
        CHECK_THROWS_AS(corio::run(answer()), corio::invalid_state_error);
        CHECK_THROWS_AS(loop.run_until_complete(answer()), corio::invalid_state_error);
        // The running task is intact: it can still suspend.
        REQUIRE(corio::current_task());
        co_await corio::sleep(1ms);
        co_return 3;
    };
    CHECK(loop.run_until_complete(body()) == 3);
}

[[noreturn]] std::unique_ptr<corio::detail::io_backend> refused_io_uring() {
    corio::detail::sys::throw_error(EPERM, corio::detail::io_uring_refusal(EPERM));
}

TEST_CASE("automatic falls back to epoll where io_uring is refused; an explicit request throws "
          "the reason",
          "[run]") {
    const std::string saved = requested_backend();
    ::unsetenv("CORIO_BACKEND");
    CHECK(corio::detail::make_backend(corio::backend::automatic, refused_io_uring)->name() ==
          "epoll");
    ::setenv("CORIO_BACKEND", saved.c_str(), 1);
    try {
        corio::detail::make_backend(corio::backend::io_uring, refused_io_uring);
        FAIL("an io_uring backend was made");
    } catch (const std::system_error& e) {
        CHECK(e.code().value() == EPERM);
        CHECK_THAT(e.what(), Catch::Contains("seccomp") || Catch::Contains("io_uring_disabled"));
    }
}

// In a child process whose seccomp filter refuses io_uring_setup with EPERM, as container
// runtimes do: automatic runs on epoll, and io_uring asked for by name throws why.
int run_where_io_uring_is_refused() {
    ::unsetenv("CORIO_BACKEND");
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
        return 10;
    auto name = []() -> corio::task<std::string> {
        co_return std::string(corio::get_running_loop().backend_name());
    };
    if (corio::run(name()) != "epoll")
        return 11;
    corio::run_options explicit_request;
    explicit_request.loop.backend = corio::backend::io_uring;
    try {
        corio::run(name(), explicit_request);
        return 12;
    } catch (const std::system_error& e) {
#ifdef CORIO_HAS_IO_URING
        constexpr int refusal = EPERM; // the filter's answer
#else
        constexpr int refusal = ENOSYS; // not built in: the filter is never reached
#endif
        if (e.code().value() != refusal ||
            std::string(e.what()).find("io_uring") == std::string::npos)
            return 13;
    }
    return 0;
}

TEST_CASE("a seccomp filter that refuses io_uring: automatic is epoll, explicit throws EPERM",
          "[run]") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0)
        ::_exit(run_where_io_uring_is_refused());
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

#ifndef CORIO_HAS_IO_URING
TEST_CASE("io_uring asked for by name in a build without it throws ENOSYS", "[run]") {
    corio::run_options options;
    options.loop.backend = corio::backend::io_uring;
    CHECK_THROWS_WITH(corio::run(answer(), options), Catch::Contains("without liburing"));
}
#endif

TEST_CASE("a bad CORIO_BACKEND value is named in the error", "[run]") {
    std::string saved = requested_backend();
    ::setenv("CORIO_BACKEND", "kqueue", 1);
    CHECK_THROWS_WITH(corio::run(answer()), Catch::Contains("kqueue"));
    ::setenv("CORIO_BACKEND", saved.c_str(), 1);
}

TEST_CASE("event_loop::run_until_complete leaves other tasks pending", "[run]") {
    bool finished = false;
    auto slow = [&]() -> corio::task<> {
        co_await corio::sleep(1h);
        finished = true;
    };
    corio::task_handle<> pending;
    {
        corio::event_loop loop;
        auto body = [&]() -> corio::task<int> {
            pending = corio::spawn(slow());
            co_await corio::sleep(1ms);
            co_return 5;
        };
        CHECK(loop.run_until_complete(body()) == 5);
        CHECK_FALSE(pending.done());
        auto before = corio::clock::now();
        auto loop_time = loop.time();
        CHECK(before <= loop_time);
        CHECK(loop_time <= corio::clock::now());
    } // the loop destroys the pending frame, unrun
    CHECK_FALSE(finished);
    CHECK_FALSE(pending.done());
    CHECK_THROWS_AS(pending.result(), corio::invalid_state_error);
}

TEST_CASE("SIGINT cancels main, run throws keyboard_interrupt, clean-up runs, SIGINT is restored",
          "[run][signal]") {
    REQUIRE(sigint_disposition() == SIG_DFL);
    bool main_cleaned_up = false;
    bool child_cleaned_up = false;
    signal_handler during = SIG_DFL;
    auto child = [&]() -> corio::task<> {
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            child_cleaned_up = true;
            throw;
        }
    };
    auto body = [&]() -> corio::task<> {
        (void)corio::spawn(child());
        during = sigint_disposition();
        co_await corio::sleep(1ms);
        std::raise(SIGINT);
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            main_cleaned_up = true;
            throw;
        }
    };
    CHECK_THROWS_AS(corio::run(body()), corio::keyboard_interrupt);
    CHECK(during != SIG_DFL);
    CHECK(main_cleaned_up);
    CHECK(child_cleaned_up);
    CHECK(sigint_disposition() == SIG_DFL);
}

TEST_CASE("a second SIGINT during clean-up interrupts the clean-up and nothing breaks",
          "[run][signal]") {
    int cleanup_steps = 0;
    bool second_cancel_seen = false;
    auto body = [&]() -> corio::task<> {
        bool cancelled = false;
        try {
            std::raise(SIGINT);
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        REQUIRE(cancelled);
        ++cleanup_steps;
        std::raise(SIGINT); // Ctrl+C again while cleaning up
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            second_cancel_seen = true;
        }
        co_await corio::sleep(1ms); // the clean-up can still await afterwards
        ++cleanup_steps;
        throw corio::cancelled_error();
    };
    CHECK_THROWS_AS(corio::run(body()), corio::keyboard_interrupt);
    CHECK(second_cancel_seen);
    CHECK(cleanup_steps == 2);
    CHECK(sigint_disposition() == SIG_DFL);
    CHECK(corio::run(answer()) == 42);
}

TEST_CASE("a main that swallows the SIGINT cancellation returns its value", "[run][signal]") {
    auto body = []() -> corio::task<int> {
        std::raise(SIGINT);
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            co_return 7;
        }
        co_return 0;
    };
    CHECK(corio::run(body()) == 7);
}

TEST_CASE("run leaves SIGINT alone with handle_sigint = false or a handler of the program's own",
          "[run][signal]") {
    SECTION("handle_sigint = false") {
        signal_handler during = nullptr;
        auto body = [&]() -> corio::task<> {
            during = sigint_disposition();
            co_return;
        };
        corio::run(body(), {.handle_sigint = false});
        CHECK(during == SIG_DFL);
    }
    SECTION("the program's own handler keeps getting SIGINT") {
        REQUIRE(std::signal(SIGINT, own_handler) != SIG_ERR);
        own_handler_calls = 0;
        auto body = []() -> corio::task<int> {
            std::raise(SIGINT);
            co_await corio::sleep(5ms); // not cancelled
            co_return 1;
        };
        CHECK(corio::run(body()) == 1);
        CHECK(own_handler_calls == 1);
        CHECK(sigint_disposition() == own_handler);
        std::signal(SIGINT, SIG_DFL);
    }
}

TEST_CASE("stop() inside run cancels and awaits everything, then run throws", "[run]") {
    bool cleaned_up = false;
    auto body = [&]() -> corio::task<> {
        corio::get_running_loop().stop();
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            cleaned_up = true;
            throw;
        }
    };
    CHECK_THROWS_AS(corio::run(body()), corio::invalid_state_error);
    CHECK(cleaned_up);
}

TEST_CASE("in debug mode an interrupted run prints the live tasks", "[run][signal]") {
    stderr_capture err;
    auto body = []() -> corio::task<> {
        corio::current_task().set_name("main");
        std::raise(SIGINT);
        co_await corio::sleep(1h);
    };
    CHECK_THROWS_AS(corio::run(body(), {.loop = {.debug = true}}), corio::keyboard_interrupt);
    const std::string text = err.text();
    CHECK(text.rfind("corio: interrupted; live tasks:\n<task 'main' suspended>\n", 0) == 0);
    CHECK(text.find("    sleep, due in ") != std::string::npos);
}

TEST_CASE("two interrupts in one iteration cancel every task, not only main", "[run][signal]") {
    bool worker_cancelled = false;
    auto body = [&]() -> corio::task<> {
        auto worker = corio::spawn([]() -> corio::task<> { co_await corio::sleep(1h); });
        co_await corio::sleep(0s); // the worker started
        auto& loop = corio::get_running_loop();
        loop.interrupt(); // what two quick Ctrl+C do, from the signal handler
        loop.interrupt();
        bool main_cancelled = false;
        try {
            co_await corio::sleep(1h);
        } catch (const corio::cancelled_error&) {
            main_cancelled = true;
        }
        CHECK(main_cancelled);
        CHECK(loop.interrupts_handled() == 2);
        co_await corio::sleep(0s);
        worker_cancelled = worker.done() && worker.cancelled();
    };
    corio::run(body(), {.handle_sigint = false}); // main caught its cancellation: no throw
    CHECK(worker_cancelled);
}

TEST_CASE("a SIGINT handler the program installs during run survives run", "[run][signal]") {
    signal_handler after_install = nullptr;
    auto body = [&]() -> corio::task<> {
        REQUIRE(std::signal(SIGINT, own_handler) != SIG_ERR);
        after_install = sigint_disposition();
        co_return;
    };
    corio::run(body());
    CHECK(after_install == own_handler);
    CHECK(sigint_disposition() == own_handler);
    std::signal(SIGINT, SIG_DFL);
}

TEST_CASE("run ends with chains of awaits still alive: A awaits B awaits shield, gather, wait, a "
          "group or a handle of C",
          "[run][cancel]") {
    for (int kind = 0; kind < 5; ++kind) {
        int cleaned = 0;
        auto main_task = [&]() -> corio::task<int> {
            auto c = corio::spawn(nothing_after(1h), "C");
            auto b = corio::spawn(
                [&cleaned, kind](corio::task_handle<> c) -> corio::task<> {
                    std::vector<corio::task_handle<>> handles{c};
                    auto scope = [c](corio::task_group& tg) -> corio::task<> {
                        tg.spawn([c]() -> corio::task<> { co_await c; });
                        co_await corio::sleep(1h);
                    };
                    try {
                        switch (kind) {
                        case 0:
                            co_await corio::shield(c);
                            break;
                        case 1:
                            co_await corio::gather(c, nothing_after(1h));
                            break;
                        case 2:
                            co_await corio::wait(handles);
                            break;
                        case 3:
                            co_await corio::with(corio::task_group{}, scope);
                            break;
                        default:
                            co_await c;
                        }
                    } catch (const corio::cancelled_error&) {
                        ++cleaned;
                        throw;
                    }
                },
                c);
            corio::spawn([](corio::task_handle<> b) -> corio::task<> { co_await b; }, b);
            co_await settle();
            co_return 7; // run's shutdown cancels A (which cancels B), then B and C themselves
        };
        CHECK(corio::run(main_task()) == 7);
        CHECK(cleaned == 1);
    }
}
