// SPDX-License-Identifier: MIT
// corio/readiness.hpp: wait_readable and wait_writable, which suspend a task until a file
// descriptor is ready (trio's names; asyncio reaches them through add_reader).
// Layer L4.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/backend/io_op.hpp>
#include <corio/detail/io_awaiter.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/sys.hpp>

#include <ostream>
#include <string>

#ifdef CORIO_HAS_IO_URING
#include <poll.h>

#include <liburing.h>
#endif

namespace corio {
namespace detail {

// A readiness wait: nothing to try before the fd is ready, and nothing to do once it is.
class poll_op {
public:
    static constexpr bool readiness_wait = true;

    poll_op(int fd, io_direction direction) noexcept : fd_(fd), direction_(direction) {}

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] io_direction direction() const noexcept { return direction_; }
    int perform() noexcept { return 0; }
#ifdef CORIO_HAS_IO_URING
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_poll_add(
            &sqe, fd_, direction_ == io_direction::read ? POLLIN | POLLRDHUP : POLLOUT);
    }
#endif
    void finish(int result) const {
        if (result < 0)
            sys::throw_error(-result, "corio: wait on fd " + std::to_string(fd_));
    }
    void describe(std::ostream& out) const {
        out << (direction_ == io_direction::read ? "readable" : "writable") << " on fd " << fd_;
    }

private:
    int fd_;
    io_direction direction_;
};

using readiness_awaiter = io_awaiter<poll_op>;

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
    return {detail::running_core(), {fd, detail::io_direction::read}};
}

/// Suspends the calling task until `fd` is writable (or has failed). trio: `wait_writable`.
/// Cancellation and throws: as wait_readable.
[[nodiscard]] inline detail::readiness_awaiter wait_writable(int fd) {
    return {detail::running_core(), {fd, detail::io_direction::write}};
}

} // namespace corio
