// SPDX-License-Identifier: MIT
// corio/readiness.hpp: wait_readable and wait_writable, which suspend a task until a file
// descriptor is ready (trio's names; asyncio reaches them through add_reader).
// Layer L4.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/backend/io_op.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>

#include <cerrno>
#include <coroutine>
#include <ostream>
#include <system_error>

namespace corio {
namespace detail {

class readiness_awaiter final : public loop_waiter, public io_op {
public:
    readiness_awaiter(loop_core& loop, int fd, io_direction direction) noexcept
        : loop_waiter(loop), io_op(fd, direction), core_(&loop) {}
    /// Only before it is awaited: gather and wait_for move awaitables into tasks of their own.
    readiness_awaiter(readiness_awaiter&& other) noexcept
        : loop_waiter(std::move(other)), io_op(other.fd(), other.direction()), core_(other.core_) {}
    ~readiness_awaiter() {
        if (io_op::linked()) // a closing loop destroys the frame: the backend lets go first
            core_->backend().cancel(*this);
    }

    bool await_ready() const noexcept { return false; }

    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        result_ = 0;
        cancel_pending_ = false;
        core_->backend().submit(*this); // throws for a bad fd, before the task waits
        wait();
    }

    void await_resume() {
        resumed();
        if (cancel_pending_) { // the backend's cancel could not stop it at once
            if (result_ == -ECANCELED)
                throw cancelled_error(owner().cancel_message());
            cancel_at_next_suspension(); // the fd got ready first: that is kept
        }
        if (result_ < 0)
            throw std::system_error(-result_, std::generic_category(), "corio: wait on fd");
    }

    void complete(int result) noexcept override {
        result_ = result;
        resume_later();
    }

    void describe(std::ostream& out) const override {
        out << (direction() == io_direction::read ? "readable" : "writable") << " on fd " << fd();
    }

private:
    cancel_answer stop() noexcept override {
        if (resume_queued())
            return cancel_answer::too_late; // ready: the wake-up is kept
        const cancel_answer answer = core_->backend().cancel(*this);
        cancel_pending_ = answer == cancel_answer::pending;
        return answer;
    }

    loop_core* core_;
    int result_ = 0;
    bool cancel_pending_ = false;
};

} // namespace detail

/// Suspends the calling task until `fd` is readable: data, end of stream, an error, or a
/// listening socket with a connection waiting. trio: `wait_readable`; asyncio reaches it
/// through `loop.add_reader`. The fd stays the caller's; it should be non-blocking. Several
/// tasks may wait on one fd: all resume.
/// Cancellation: always cancellable; nothing of the wait is left behind.
/// Throws: `no_running_loop` outside a running loop; when awaited, `std::system_error`
/// for a descriptor that cannot be waited on (EBADF for an invalid one, EPERM for a regular
/// file).
[[nodiscard]] inline detail::readiness_awaiter wait_readable(int fd) {
    return detail::readiness_awaiter(detail::running_core(), fd, detail::io_direction::read);
}

/// Suspends the calling task until `fd` is writable (or has failed). trio: `wait_writable`.
/// Cancellation and throws: as wait_readable.
[[nodiscard]] inline detail::readiness_awaiter wait_writable(int fd) {
    return detail::readiness_awaiter(detail::running_core(), fd, detail::io_direction::write);
}

} // namespace corio
