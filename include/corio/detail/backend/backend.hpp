// SPDX-License-Identifier: MIT
// corio/detail/backend/backend.hpp: io_backend, the interface the event loop waits on and
// submits operations to, and fd_attachment, an fd its owner keeps known to the backend.
// Layer L3. epoll implements it; the loop picks a backend at run time.
#pragma once

#include <corio/clock.hpp>

#include <corio/detail/backend/io_op.hpp>
#include <corio/detail/cancel_answer.hpp>
#include <corio/detail/intrusive_list.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

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

class io_backend;

/// An fd kept registered with a readiness backend between its operations, from attach()
/// until release() or destruction (see io_backend::attach). The owner releases before it
/// closes the fd. A backend destroyed first forgets its attachments, so an attachment may
/// outlive its loop. Thread safety: the loop's thread.
/// It also carries what the backend last reported about the fd's readability, so that a
/// read can skip a system call that would only say "would block".
class fd_attachment : public list_hook {
public:
    fd_attachment() noexcept = default;
    ~fd_attachment() { release(); }

    /// Throws: `std::bad_alloc`.
    void attach(io_backend& backend, int fd);
    void release() noexcept;

    [[nodiscard]] int fd() const noexcept { return fd_; }

    /// False from drained() until the backend reports the fd readable again: a read may then
    /// wait without trying first.
    [[nodiscard]] bool may_be_readable() const noexcept { return readable_; }

    /// The owner's read found nothing more to read (would block, or a short read of a stream
    /// socket). Only a backend that keeps the fd reports readability, so elsewhere nothing
    /// changes.
    void drained() noexcept {
        if (backend_ != nullptr && !read_ended_)
            readable_ = false;
    }

    /// The backend's report: the fd is readable; `ended`: for good (the peer shut its side,
    /// or the fd failed), which comes once, and a read then never waits.
    void became_readable(bool ended) noexcept {
        readable_ = true;
        read_ended_ = read_ended_ || ended;
    }

private:
    friend class io_backend;

    // Nothing reports readability any more.
    void forget() noexcept {
        backend_ = nullptr;
        readable_ = true;
    }

    io_backend* backend_ = nullptr;
    int fd_ = -1;
    bool readable_ = true;
    bool read_ended_ = false;
};

class io_backend {
public:
    /// `readiness`: see tries_first.
    explicit io_backend(bool readiness) noexcept : tries_first_(readiness) {}
    io_backend(const io_backend&) = delete;
    io_backend& operator=(const io_backend&) = delete;
    virtual ~io_backend() {
        while (fd_attachment* a = attachments_.pop_front())
            a->forget();
    }

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

    /// For an fd that will see many operations (a stream's socket): a readiness backend keeps
    /// it registered from now until `attachment` is released, instead of registering it for
    /// each wait and deregistering it after; a completion backend has nothing to keep.
    /// Throws: `std::bad_alloc`.
    void attach(fd_attachment& attachment, int fd) {
        attachment.fd_ = fd;
        if (!keep_registered(attachment))
            return;
        attachment.backend_ = this;
        attachments_.push_back(attachment);
    }

    /// Watchers set and not removed.
    [[nodiscard]] virtual std::size_t watchers() const noexcept = 0;

    /// The loop's time when the backend keeps its own (a test backend's virtual time); null
    /// when the loop's time is the clock's.
    [[nodiscard]] virtual const clock::time_point* own_time() const noexcept { return nullptr; }

    /// The loop is closing: every operation in flight completes (with -ECANCELED, or a
    /// result the kernel had already produced) before this returns, so before any frame that
    /// owns one is destroyed.
    virtual void cancel_all() noexcept = 0;

protected:
    /// attach(): true when the backend keeps the attachment's fd registered, and reports its
    /// readability to it, until stop_keeping().
    virtual bool keep_registered(fd_attachment& /*attachment*/) { return false; }
    virtual void stop_keeping(fd_attachment& /*attachment*/) noexcept {}

private:
    friend class fd_attachment;

    bool tries_first_;
    intrusive_list<fd_attachment> attachments_;
};

inline void fd_attachment::attach(io_backend& backend, int fd) {
    release();
    backend.attach(*this, fd);
}

inline void fd_attachment::release() noexcept {
    if (io_backend* backend = backend_) {
        unlink();
        forget();
        backend->stop_keeping(*this);
    }
}

} // namespace corio::detail
