// SPDX-License-Identifier: MIT
// corio/detail/loop_waiter.hpp: loop_waiter, the base of every awaitable that suspends a
// task on the loop: it knows its loop, its task and its frame, and carries the cancel flag.
// Layer L4.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/scheduler.hpp>
#include <corio/detail/task_state.hpp>

#include <coroutine>
#include <stdexcept>

namespace corio::detail {

class loop_waiter : public waiter {
public:
    explicit loop_waiter(scheduler& loop) noexcept : loop_(&loop) {}
    /// Only for an awaitable not awaited yet: gather moves awaitables into tasks of their own.
    loop_waiter(loop_waiter&& other) noexcept : loop_(other.loop_) {}
    loop_waiter(const loop_waiter&) = delete;
    loop_waiter& operator=(const loop_waiter&) = delete;

protected:
    ~loop_waiter() = default;

    /// First thing in await_suspend: remembers the frame to resume and its task.
    void bind(std::coroutine_handle<> frame) {
        task_ = loop_->current_task_state();
        if (task_ == nullptr)
            throw std::logic_error("corio: awaited outside a task of the running loop");
        frame_ = frame;
    }

    /// Last thing in await_suspend, once the operation is armed: the task now waits here.
    void wait() noexcept { task_->suspend_on(*this); }

    /// Schedules the frame; the loop resumes it in its next run of ready tasks.
    void resume_later() noexcept { loop_->schedule(frame_, task_); }

    /// First thing in await_resume: throws cancelled_error if this wait was cancelled. Does
    /// nothing when await_ready let the task go on without suspending.
    void resumed() {
        if (task_ == nullptr)
            return;
        task_->resumed();
        if (cancelled_)
            throw cancelled_error(task_->cancel_message());
    }

    [[nodiscard]] task_state_base& owner() const noexcept { return *task_; }

    scheduler* loop_;
    bool cancelled_ = false;

private:
    task_state_base* task_ = nullptr;
    std::coroutine_handle<> frame_;
};

} // namespace corio::detail
