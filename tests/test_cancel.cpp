// SPDX-License-Identifier: MIT
// The cancellation protocol of the core, driven by a waiter whose cancel hook answers what
// each test tells it to: stopped, pending or too late. Every waiter in corio is built on it.
#include <coroutine>
#include <ostream>

#include "corio_test.hpp"

using namespace corio_test;
using corio::detail::cancel_answer;

namespace {

class scripted_op;

// What the test controls: the hook's answer; what it observes: how often the hook ran.
struct script {
    cancel_answer answer = cancel_answer::stopped;
    int hook_calls = 0;
    scripted_op* waiting = nullptr;
};

// A waiter as an I/O operation would be written: armed in await_suspend, completed from
// outside with a value, and a cancel hook that only says what happened to the operation.
class scripted_op final : public corio::detail::loop_waiter {
public:
    explicit scripted_op(script& s) : loop_waiter(corio::detail::running_core()), script_(&s) {}

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        script_->waiting = this;
        wait();
    }
    int await_resume() {
        script_->waiting = nullptr;
        resumed();
        return value_;
    }

    // The operation's own completion; it may race a cancellation.
    void complete(int value) noexcept {
        value_ = value;
        resume_later();
    }

    void describe(std::ostream& out) const override { out << "scripted operation"; }

private:
    cancel_answer stop() noexcept override {
        ++script_->hook_calls;
        return script_->answer;
    }

    script* script_;
    int value_ = -1;
};

// Awaits the operation once and counts how often the frame came back from that await.
corio::task<int> await_op(script& s, int& resumes) {
    try {
        int v = co_await scripted_op(s);
        ++resumes;
        co_return v;
    } catch (const corio::cancelled_error&) {
        ++resumes;
        throw;
    }
}

} // namespace

TEST_CASE("stopped: the task resumes at once with cancelled_error", "[cancel]") {
    auto body = []() -> corio::task<> {
        script s;
        int resumes = 0;
        auto h = corio::spawn(await_op(s, resumes));
        co_await settle();
        REQUIRE(s.waiting != nullptr);
        CHECK(h.cancel("stop"));
        co_await settle();
        CHECK(h.cancelled());
        CHECK(resumes == 1);
        CHECK(s.hook_calls == 1);
    };
    run_virtual(body());
}

TEST_CASE("a completion racing a stopped cancel resumes the frame once", "[cancel]") {
    auto body = []() -> corio::task<> {
        for (bool complete_first : {false, true}) {
            script s;
            int resumes = 0;
            auto h = corio::spawn(await_op(s, resumes));
            co_await settle();
            REQUIRE(s.waiting != nullptr);
            if (complete_first)
                s.waiting->complete(1);
            h.cancel();
            if (!complete_first)
                s.waiting->complete(1);
            co_await settle();
            CHECK(h.cancelled()); // stopped wins: a sleep or a queued waiter answers so
            CHECK(resumes == 1);
        }
    };
    run_virtual(body());
}

TEST_CASE("pending: the task resumes on the completion, and later requests only count",
          "[cancel]") {
    auto body = []() -> corio::task<> {
        script s;
        s.answer = cancel_answer::pending;
        int resumes = 0;
        auto h = corio::spawn(await_op(s, resumes));
        co_await settle();
        h.cancel();
        h.cancel();
        co_await settle();
        CHECK_FALSE(h.done()); // the completion has not arrived
        CHECK(s.hook_calls == 1);
        CHECK(h.cancelling() == 2);
        s.waiting->complete(7);
        co_await settle();
        CHECK(h.result() == 7); // the waiter decides what a pending cancel ends with
        CHECK(resumes == 1);
    };
    run_virtual(body());
}

TEST_CASE("too late: the value is kept and the cancel arrives at the next suspension", "[cancel]") {
    auto body = []() -> corio::task<> {
        script s;
        s.answer = cancel_answer::too_late;
        int got = 0;
        bool cancelled_next = false;
        auto waiter = [&]() -> corio::task<> {
            got = co_await scripted_op(s);
            try {
                co_await corio::sleep(0s);
            } catch (const corio::cancelled_error&) {
                cancelled_next = true;
                throw;
            }
        };
        auto h = corio::spawn(waiter());
        co_await settle();
        s.waiting->complete(3);
        h.cancel();
        co_await settle();
        CHECK(s.hook_calls == 1);
        CHECK(got == 3);
        CHECK(cancelled_next);
        CHECK(h.cancelled());
    };
    run_virtual(body());
}

TEST_CASE("three requests before the task resumes: one hook call, one cancelled_error",
          "[cancel]") {
    auto body = []() -> corio::task<> {
        script s;
        bool cleaned_up = false;
        auto waiter = [&]() -> corio::task<> {
            bool cancelled = false;
            try {
                co_await scripted_op(s);
            } catch (const corio::cancelled_error&) {
                cancelled = true;
            }
            if (cancelled) {
                co_await corio::sleep(0s); // clean-up: must not be cut short
                cleaned_up = true;
                throw corio::cancelled_error("again");
            }
        };
        auto h = corio::spawn(waiter());
        co_await settle();
        for (int i = 0; i < 3; ++i)
            h.cancel();
        co_await settle();
        CHECK(s.hook_calls == 1);
        CHECK(h.cancelling() == 3);
        CHECK(cleaned_up);
        CHECK(h.cancelled());
    };
    run_virtual(body());
}

TEST_CASE("a request made while the task runs reaches the hook when it suspends", "[cancel]") {
    auto body = []() -> corio::task<> {
        script s;
        int resumes = 0;
        auto self_cancelling = [&]() -> corio::task<int> {
            corio::current_task().cancel();
            co_return co_await await_op(s, resumes);
        };
        auto h = corio::spawn(self_cancelling());
        co_await settle();
        CHECK(s.hook_calls == 1);
        CHECK(resumes == 1);
        CHECK(h.cancelled());
    };
    run_virtual(body());
}

TEST_CASE("each suspension takes its own request", "[cancel]") {
    auto body = []() -> corio::task<> {
        script s;
        s.answer = cancel_answer::pending;
        int first = 0;
        int second = 0;
        auto twice = [&]() -> corio::task<> {
            first = co_await scripted_op(s);
            second = co_await scripted_op(s);
        };
        auto h = corio::spawn(twice());
        co_await settle();
        h.cancel();
        s.waiting->complete(1);
        co_await settle();
        REQUIRE(s.waiting != nullptr); // suspended again: the first request was taken
        h.cancel();
        s.waiting->complete(2);
        co_await settle();
        CHECK(s.hook_calls == 2);
        CHECK(first == 1);
        CHECK(second == 2);
        CHECK(h.done());
        CHECK(h.cancelling() == 2);
    };
    run_virtual(body());
}
