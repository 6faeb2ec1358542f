// SPDX-License-Identifier: MIT
// corio/detail/backend/io_op.hpp: io_op, one operation in flight in a backend, and
// fd_watcher, a standing interest in an fd's readiness (add_reader, add_writer).
// Layer L3.
#pragma once

#include <corio/detail/intrusive_list.hpp>

struct io_uring_sqe;

namespace corio::detail {

/// Which readiness an operation or a watcher waits for.
enum class io_direction : unsigned char { read, write };

/// One operation in flight, owned by the awaiting frame and never moved once submitted: the
/// backend links it into its own lists. complete() is called exactly once, on the loop
/// thread, unless the backend's cancel() answered stopped first. A readiness backend calls
/// perform() each time the fd is ready, and completes the operation with its result unless
/// that is -EAGAIN. A multishot submission (io_uring's accept) calls progress() for each of
/// its results but the last, which comes to complete().
class io_op : public list_hook {
public:
    /// `readiness`: the operation only waits for the fd to be ready (a poll).
    io_op(int fd, io_direction direction, bool readiness) noexcept
        : fd_(fd), direction_(direction), readiness_(readiness) {}
    io_op(const io_op&) = delete;
    io_op& operator=(const io_op&) = delete;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] io_direction direction() const noexcept { return direction_; }
    [[nodiscard]] bool waits_for_readiness() const noexcept { return readiness_; }

    /// The operation's non-blocking system call: its result, or -errno; -EAGAIN when it must
    /// wait for the fd to be ready (again).
    virtual int perform() noexcept = 0;

#ifdef CORIO_HAS_IO_URING
    /// A completion backend's way: fills `sqe` (all but its user_data) with the operation.
    virtual void prepare(io_uring_sqe& sqe) noexcept = 0;

    /// One of many results of a multishot submission: the operation stays in flight.
    virtual void progress(int result) noexcept = 0;
#endif

    /// The outcome: >= 0 on success (a count, an fd; for a readiness wait, any value), or -errno;
    /// -ECANCELED when the loop closed with the operation in flight.
    virtual void complete(int result) noexcept = 0;

protected:
    ~io_op() = default;

private:
    int fd_;
    io_direction direction_;
    bool readiness_;
};

/// Told each time the backend finds its fd ready, until it is removed.
class fd_watcher {
public:
    virtual void ready() noexcept = 0;

protected:
    ~fd_watcher() = default;
};

} // namespace corio::detail
