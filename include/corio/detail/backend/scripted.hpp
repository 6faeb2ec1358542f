// SPDX-License-Identifier: MIT
// corio/detail/backend/scripted.hpp: scripted_backend, the test backend: virtual time over a
// real backend, and operations whose completions and cancellations a test scripts.
// Layer L3. corio::testing::run_virtual runs on it; nothing in a production loop does.
#pragma once

#include <corio/clock.hpp>
#include <corio/errors.hpp>

#include <corio/detail/backend/backend.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/sys.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corio::detail {

/// The loop's time stands still while anything is ready or a to_thread call runs; when
/// nothing is, the real backend is polled once (I/O that is possible now completes first),
/// then time jumps to the next timer, so an hour of sleeps passes in microseconds and in the
/// same order every time. I/O in flight does not hold time. With no timer, the real backend
/// waits for I/O or another thread; when nothing at all could wake a task, a second of real
/// time is given to other threads, then the loop stops with invalid_state_error naming
/// every task and what it waits for.
///
/// The script: with hold_operations(), submitted operations stay here instead of reaching
/// the real backend, and a test completes them (complete(): a result, short, -EAGAIN,
/// -ECANCELED with data, whatever it likes) or tells them their fd is ready (ready(): the
/// operation's system call runs, and one that would still block stays held), answers their
/// cancellation (answer_cancels(): stopped or pending) and refuses a submission
/// (refuse_next_submit()).
class scripted_backend final : public io_backend {
public:
    explicit scripted_backend(std::unique_ptr<io_backend> real) noexcept
        : io_backend(real->tries_first()), real_(std::move(real)) {}

    /// The loop this backend serves: its to_thread calls hold time, and `dump` (its
    /// dump_tasks) names its tasks when nothing can wake them. Set once, right after the
    /// loop is built.
    void serve(loop_core& loop, std::function<void(std::ostream&)> dump) noexcept {
        loop_ = &loop;
        dump_ = std::move(dump);
    }

    // --- the script ---

    void hold_operations(bool hold) noexcept { hold_ = hold; }
    void answer_cancels(cancel_answer answer) noexcept { cancel_answer_ = answer; }
    void refuse_next_submit(int error) noexcept { refusal_ = error; }

    /// The held operations, oldest first; a completed or stopped one leaves.
    [[nodiscard]] std::size_t held() const noexcept { return held_count_; }
    [[nodiscard]] io_op& held(std::size_t i) {
        io_op* found = nullptr;
        std::size_t n = 0;
        held_.for_each([&](io_op& op) {
            if (n++ == i)
                found = &op;
        });
        if (found == nullptr)
            throw std::out_of_range("scripted_backend: no held operation " + std::to_string(i));
        return *found;
    }

    /// Completes a held operation with `result` at the next wait, as a kernel would.
    void complete(io_op& op, int result) { release(op, result); }

    /// At the next wait, a held operation performs its system call, as a readiness backend
    /// does when its fd is ready: it completes with the result, or stays held on -EAGAIN.
    void ready(io_op& op) { release(op, std::nullopt); }

    // --- io_backend ---

    [[nodiscard]] std::string_view name() const noexcept override { return real_->name(); }

    void submit(io_op& op) override {
        if (refusal_ != 0)
            sys::throw_error(std::exchange(refusal_, 0), "scripted_backend: submit refused");
        if (!hold_)
            return real_->submit(op);
        held_.push_back(op);
        ++held_count_;
    }

    cancel_answer cancel(io_op& op) noexcept override {
        if (is_completing(op)) // its completion is queued: the task resumes on it
            return cancel_answer::pending;
        if (!is_held(op))
            return real_->cancel(op);
        if (cancel_answer_ == cancel_answer::stopped) {
            op.unlink();
            --held_count_;
        }
        return cancel_answer_;
    }

    void watch(int fd, io_direction direction, fd_watcher& watcher) override {
        real_->watch(fd, direction, watcher);
    }
    void unwatch(int fd, io_direction direction) noexcept override {
        real_->unwatch(fd, direction);
    }

    bool wait(std::optional<clock::time_point> deadline) override {
        bool progressed = deliver_completions();
        progressed = real_->wait(clock::time_point::min()) || progressed;
        if (progressed || (deadline && *deadline <= now_))
            return progressed;
        if (loop_->calls_outside() > 0) // time stands still until the call comes back
            return real_->wait(std::nullopt);
        if (deadline && *deadline != clock::time_point::max()) {
            now_ = *deadline;
            return false;
        }
        if (real_->in_flight() > 0 || real_->watchers() > 0)
            return real_->wait(std::nullopt);
        if (real_->wait(clock::now() + std::chrono::seconds(1)))
            return true;
        throw invalid_state_error(stall_report());
    }

    void wake() noexcept override { real_->wake(); }

    [[nodiscard]] std::size_t in_flight() const noexcept override {
        return real_->in_flight() + held_count_ + completing_.size();
    }
    [[nodiscard]] std::size_t watchers() const noexcept override { return real_->watchers(); }

    void cancel_all() noexcept override {
        while (io_op* op = held_.pop_front()) {
            --held_count_;
            op->complete(-ECANCELED);
        }
        deliver_completions();
        real_->cancel_all();
    }

    [[nodiscard]] const clock::time_point* own_time() const noexcept override { return &now_; }

private:
    struct completion {
        io_op* op;
        std::optional<int> result; // none: perform() gives it
    };

    void release(io_op& op, std::optional<int> result) {
        op.unlink();
        --held_count_;
        completing_.push_back({&op, result});
    }

    bool is_held(const io_op& op) const noexcept {
        bool found = false;
        held_.for_each([&](const io_op& x) { found = found || &x == &op; });
        return found;
    }

    bool is_completing(const io_op& op) const noexcept {
        return std::any_of(completing_.begin(), completing_.end(), [&](const completion& c) {
            return c.op == &op;
        });
    }

    bool deliver_completions() noexcept {
        if (completing_.empty())
            return false;
        std::vector<completion> now;
        now.swap(completing_);
        for (const completion& c : now) {
            const int result = c.result ? *c.result : c.op->perform();
            if (!c.result && result == -EAGAIN) {
                held_.push_back(*c.op);
                ++held_count_;
                continue;
            }
            c.op->complete(result);
        }
        return true;
    }

    std::string stall_report() const {
        std::ostringstream out;
        out << "corio: every task waits and nothing can wake one (no timer, no to_thread "
               "call, no I/O); the tasks:\n";
        dump_(out);
        return out.str();
    }

    std::unique_ptr<io_backend> real_;
    loop_core* loop_ = nullptr;
    std::function<void(std::ostream&)> dump_;
    // Starts an hour past the clock's epoch: a test may go back in time from there.
    clock::time_point now_ = clock::time_point{} + std::chrono::hours(1);
    intrusive_list<io_op> held_;
    std::size_t held_count_ = 0;
    std::vector<completion> completing_;
    cancel_answer cancel_answer_ = cancel_answer::stopped;
    int refusal_ = 0;
    bool hold_ = false;
};

} // namespace corio::detail
