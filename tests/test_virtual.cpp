// SPDX-License-Identifier: MIT
// corio::testing::run_virtual's clock, and the scripted backend under it: every race of the
// cancellation protocol with an operation in flight, made deterministic.
#include <cerrno>
#include <fcntl.h>
#include <string>
#include <system_error>
#include <thread>
#include <unistd.h>

#include "corio_test.hpp"

using namespace corio_test;
using corio::detail::cancel_answer;

namespace {

corio::detail::scripted_backend& script() {
    return static_cast<corio::detail::scripted_backend&>(corio::get_running_loop().backend());
}

// A descriptor number for held operations: they never reach the kernel.
constexpr int held_fd = 1000;

// Waits for `held_fd` and then suspends once more, recording how each step ended.
struct waiter_log {
    bool woke = false;
    bool cancelled_at_wait = false;
    bool cancelled_after = false;
    int error = 0;
};

corio::task<> wait_then_yield(waiter_log& log) {
    try {
        co_await corio::wait_readable(held_fd);
        log.woke = true;
    } catch (const corio::cancelled_error&) {
        log.cancelled_at_wait = true;
        throw;
    } catch (const std::system_error& e) {
        log.error = e.code().value();
        throw;
    }
    try {
        co_await corio::sleep(0s);
    } catch (const corio::cancelled_error&) {
        log.cancelled_after = true;
        throw;
    }
}

corio::task<> wait_for(corio::event& e) {
    co_await e.wait();
}

} // namespace

TEST_CASE("virtual time stands still while a to_thread call runs", "[virtual]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        auto sleeper = corio::spawn(nothing_after(1h));
        co_await corio::to_thread([] { std::this_thread::sleep_for(20ms); });
        CHECK(loop.time() == start);
        co_await sleeper;
        CHECK(loop.time() - start == 1h);
    };
    run_virtual(body());
}

TEST_CASE("I/O in flight does not hold virtual time", "[virtual]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        auto reader = corio::spawn(readable(p.read_end));
        co_await corio::sleep(1h);
        CHECK(loop.time() - start == 1h);
        CHECK_FALSE(reader.done());
        p.put('x');
        co_await reader;
        CHECK(loop.time() - start == 1h);
    };
    run_virtual(body());
}

TEST_CASE("with no timer, the loop waits for real I/O and other threads", "[virtual]") {
    auto body = []() -> corio::task<> {
        pipe_pair p;
        std::thread writer([fd = p.write_end] {
            std::this_thread::sleep_for(30ms);
            char c = 'x';
            [[maybe_unused]] auto n = ::write(fd, &c, 1);
        });
        co_await corio::wait_readable(p.read_end);
        writer.join();
        corio::event arrived;
        auto& loop = corio::get_running_loop();
        std::thread poster([&] {
            std::this_thread::sleep_for(30ms);
            loop.call_soon_threadsafe([&] { arrived.set(); });
        });
        co_await arrived.wait(); // nothing registered: a second of real time is allowed
        poster.join();
    };
    run_virtual(body());
}

TEST_CASE("a loop where nothing can wake any task throws and names the tasks", "[virtual]") {
    auto body = []() -> corio::task<> {
        corio::event never;
        auto stuck = corio::spawn(wait_for(never), "stuck");
        co_await stuck;
    };
    try {
        run_virtual(body());
        FAIL("run_virtual returned");
    } catch (const corio::invalid_state_error& e) {
        const std::string what = e.what();
        CHECK(what.find("nothing can wake") != std::string::npos);
        CHECK(what.find("<task 'stuck' suspended>") != std::string::npos);
        CHECK(what.find("event.wait") != std::string::npos);
    }
}

TEST_CASE("scripted: a cancel that stops the operation wins", "[virtual][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        waiter_log log;
        auto h = corio::spawn(wait_then_yield(log));
        co_await settle();
        REQUIRE(script().held() == 1);
        h.cancel();
        CHECK(co_await ended_cancelled(h));
        CHECK(log.cancelled_at_wait);
        CHECK(script().held() == 0);
    };
    run_virtual(body());
}

TEST_CASE("scripted: a completion before the cancel is kept", "[virtual][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        waiter_log log;
        auto h = corio::spawn(wait_then_yield(log));
        co_await settle();
        script().complete(script().held(0), 1);
        h.cancel(); // the completion is on its way: the cancel cannot stop it
        CHECK(co_await ended_cancelled(h));
        CHECK(log.woke);
        CHECK(log.cancelled_after);
    };
    run_virtual(body());
}

TEST_CASE("scripted: a pending cancel ends with -ECANCELED as cancelled_error",
          "[virtual][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        script().answer_cancels(cancel_answer::pending);
        waiter_log log;
        auto h = corio::spawn(wait_then_yield(log));
        co_await settle();
        h.cancel();
        h.cancel();
        co_await settle();
        CHECK_FALSE(h.done()); // it resumes only on the operation's own completion
        CHECK(h.cancelling() == 2);
        REQUIRE(script().held() == 1);
        script().complete(script().held(0), -ECANCELED);
        CHECK(co_await ended_cancelled(h));
        CHECK(log.cancelled_at_wait);
    };
    run_virtual(body());
}

TEST_CASE("scripted: a result that wins over a pending cancel is returned, and the cancel "
          "comes at the next suspension",
          "[virtual][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        script().answer_cancels(cancel_answer::pending);
        waiter_log log;
        auto h = corio::spawn(wait_then_yield(log));
        co_await settle();
        h.cancel();
        co_await settle();
        script().complete(script().held(0), 1);
        CHECK(co_await ended_cancelled(h));
        CHECK(log.woke);
        CHECK(log.cancelled_after);
    };
    run_virtual(body());
}

TEST_CASE("scripted: an error result and a refused submission throw system_error",
          "[virtual][script]") {
    auto body = []() -> corio::task<> {
        script().hold_operations(true);
        waiter_log failed;
        auto h = corio::spawn(wait_then_yield(failed));
        co_await settle();
        script().complete(script().held(0), -ECONNRESET);
        co_await corio::sleep(1ms); // the loop looks at I/O: the completion arrives
        CHECK(h.exception() != nullptr);
        CHECK(failed.error == ECONNRESET);
        script().refuse_next_submit(EBUSY);
        waiter_log refused;
        auto r = corio::spawn(wait_then_yield(refused));
        co_await corio::sleep(1ms);
        CHECK(r.exception() != nullptr);
        CHECK(refused.error == EBUSY);
        CHECK(script().held() == 0);
    };
    run_virtual(body());
}

TEST_CASE("scripted: a loop closed with operations held lets go of them before the frames go",
          "[virtual][script]") {
    std::size_t held = 0;
    {
        auto backend =
            std::make_unique<corio::detail::scripted_backend>(corio::detail::make_backend({}));
        auto& scripted = *backend;
        corio::event_loop loop(std::move(backend), {});
        scripted.serve(loop, [](std::ostream&) {});
        scripted.hold_operations(true);
        auto main = [&]() -> corio::task<> {
            for (int i = 0; i < 3; ++i)
                corio::spawn(readable(held_fd));
            co_await corio::sleep(0s);
            held = scripted.held();
        };
        loop.run_until_complete(main());
    } // cancel_all completes them with -ECANCELED, then the frames are destroyed unrun
    CHECK(held == 3);
}
