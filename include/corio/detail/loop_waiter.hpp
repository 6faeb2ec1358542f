// SPDX-License-Identifier: MIT
// corio/detail/loop_waiter.hpp: loop_waiter, the base of every awaitable that suspends a
// task on the loop: it knows its loop, its task and its frame, resumes the frame once per
// suspension, and turns the answer of its leaf's stop() into the task's cancellation.
// Layer L4.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/scheduler.hpp>
#include <corio/detail/task_state.hpp>

#include <coroutine>
#include <cstdint>
#include <stdexcept>

namespace corio::detail {

class loop_waiter : public waiter {
public:
    explicit loop_waiter(scheduler& loop) noexcept : loop_(&loop) {}
    /// Only for an awaitable not awaited yet: gather moves awaitables into tasks of their own.
    loop_waiter(loop_waiter&& other) noexcept : loop_(other.loop_) {}
    loop_waiter(const loop_waiter&) = delete;
    loop_waiter& operator=(const loop_waiter&) = delete;

    cancel_answer cancel() noexcept final {
        const cancel_answer answer = stop();
        if (answer == cancel_answer::stopped) {
            task_and_flags_ |= cancelled_bit;
            resume_later(); // a no-op when the operation's own completion queued it already
        }
        return answer;
    }

protected:
    ~loop_waiter() = default;

    /// The leaf's cancel hook: withdraw the operation if it can be, and say which of the three
    /// cases it is. A stopped operation must not resume the task later: it is unlinked from
    /// whatever would have. A pending one resumes on its own completion.
    virtual cancel_answer stop() noexcept = 0;

    /// First thing in await_suspend: remembers the frame to resume and its task.
    void bind(std::coroutine_handle<> frame) {
        task_state* task = loop_->current_task_state();
        if (task == nullptr)
            throw std::logic_error("corio: awaited outside a task of the running loop");
        task_and_flags_ = reinterpret_cast<std::uintptr_t>(task); // both flags clear
        frame_ = frame;
    }

    /// Last thing in await_suspend, once the operation is armed: the task now waits here.
    void wait() noexcept { task()->suspend_on(*this); }

    /// Schedules the frame, once per suspension: later calls (a completion racing a
    /// cancellation) do nothing. The loop resumes it in its next run of ready tasks.
    void resume_later() noexcept {
        if (!resume_queued()) {
            task_and_flags_ |= resume_queued_bit;
            loop_->schedule(*task());
        }
    }

    /// True once this suspension's resume is queued: the operation completed, or stopped.
    [[nodiscard]] bool resume_queued() const noexcept {
        return (task_and_flags_ & resume_queued_bit) != 0;
    }

    /// First thing in await_resume: throws cancelled_error if this wait was cancelled. Does
    /// nothing when await_ready let the task go on without suspending.
    void resumed() {
        if (task_and_flags_ == 0)
            return;
        task()->resumed();
        if (cancelled())
            throw cancelled_error(task()->cancel_message());
    }

    [[nodiscard]] task_state& owner() const noexcept { return *task(); }

    /// In await_resume, after resumed(): the operation answered pending and then completed
    /// with a result that must not be dropped; the cancellation comes at the next suspension.
    void cancel_at_next_suspension() noexcept { task()->cancel_at_next_suspension(); }

    /// True once stop() withdrew this suspension's operation: await_resume throws.
    [[nodiscard]] bool cancelled() const noexcept { return (task_and_flags_ & cancelled_bit) != 0; }

    scheduler* loop_;

private:
    // The two flags live in the low bits of the task's address, which its alignment leaves
    // free: awaiters live in coroutine frames, and a sleeping task's frame is counted by the
    // byte (W3).
    static constexpr std::uintptr_t cancelled_bit = 1;
    static constexpr std::uintptr_t resume_queued_bit = 2;

    [[nodiscard]] task_state* task() const noexcept {
        static_assert(alignof(task_state) > (cancelled_bit | resume_queued_bit));
        return reinterpret_cast<task_state*>(task_and_flags_ &
                                             ~(cancelled_bit | resume_queued_bit));
    }

    std::uintptr_t task_and_flags_ = 0; // null until bound
};

} // namespace corio::detail
