// SPDX-License-Identifier: MIT
// corio/detail/backend/backend.hpp: io_backend, the interface the event loop waits on and
// submits operations to.
// Layer L3. epoll implements it; the loop picks a backend at run time.
#pragma once

#include <corio/clock.hpp>

#include <corio/detail/backend/io_op.hpp>
#include <corio/detail/cancel_answer.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace corio::detail {

/// How long until `deadline` (the clock's time): none for no limit, zero when it has passed.
inline std::optional<std::chrono::nanoseconds>
time_left(std::optional<clock::time_point> deadline) noexcept {
    if (!deadline || *deadline == clock::time_point::max())
        return std::nullopt;
    const clock::time_point now = clock::now();
    if (*deadline <= now) // compared first: a deadline near time_point::min() would overflow
        return std::chrono::nanoseconds::zero();
    return std::chrono::ceil<std::chrono::nanoseconds>(*deadline - now);
}

class io_backend {
public:
    /// `readiness`: see tries_first.
    explicit io_backend(bool readiness) noexcept : tries_first_(readiness) {}
    io_backend(const io_backend&) = delete;
    io_backend& operator=(const io_backend&) = delete;
    virtual ~io_backend() = default;

    /// "epoll" or "io_uring".
    [[nodiscard]] virtual std::string_view name() const noexcept = 0;

    /// True for a readiness backend: an operation's system call is tried at once, and the
    /// operation is submitted only when that would block. Not virtual: asked before every
    /// operation.
    [[nodiscard]] bool tries_first() const noexcept { return tries_first_; }

    /// Starts `op`; its complete() comes from a later wait(), never from inside submit.
    /// Throws: `std::system_error` when the fd cannot be waited on (EBADF, EPERM for a
    /// regular file).
    virtual void submit(io_op& op) = 0;

    /// Withdraws `op`: stopped (it will not complete), pending (its completion, maybe
    /// -ECANCELED, will still come), or too late (it completed already).
    virtual cancel_answer cancel(io_op& op) noexcept = 0;

    /// Makes `watcher` the one told when `fd` is ready for `direction`, replacing any.
    /// Throws: `std::system_error` as submit does.
    virtual void watch(int fd, io_direction direction, fd_watcher& watcher) = 0;

    /// Removes the watcher of `fd` for `direction`, if any.
    virtual void unwatch(int fd, io_direction direction) noexcept = 0;

    /// Blocks until an I/O event, a wake() or `deadline` (the loop's time), whichever comes
    /// first, and completes what is ready. `std::nullopt` waits without a time limit; a
    /// deadline already past only polls. Absolute, so a signal that interrupts the wait
    /// never makes the next one start a full timeout again. True when it completed or
    /// called something, or was woken.
    virtual bool wait(std::optional<clock::time_point> deadline) = 0;

    /// Makes a wait() in progress, or the next one, return at once. Callable from any thread
    /// and from a signal handler; several calls before the wait returns count as one.
    virtual void wake() noexcept = 0;

    /// Operations submitted and neither completed nor stopped yet.
    [[nodiscard]] virtual std::size_t in_flight() const noexcept = 0;

    /// Watchers set and not removed.
    [[nodiscard]] virtual std::size_t watchers() const noexcept = 0;

    /// The loop's time when the backend keeps its own (a test backend's virtual time); null
    /// when the loop's time is the clock's.
    [[nodiscard]] virtual const clock::time_point* own_time() const noexcept { return nullptr; }

    /// The loop is closing: every operation in flight completes (with -ECANCELED, or a
    /// result the kernel had already produced) before this returns, so before any frame that
    /// owns one is destroyed.
    virtual void cancel_all() noexcept = 0;

private:
    bool tries_first_;
};

} // namespace corio::detail
