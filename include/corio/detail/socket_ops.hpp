// SPDX-License-Identifier: MIT
// corio/detail/socket_ops.hpp: the socket operations as io_awaiter descriptors: recv,
// sendall, accept, a server's accept loop, connect, recvfrom, sendto.
// Layer L1: system calls and their results, no loop. Each says what it does without
// blocking (perform), what its result means (finish) and how it reads in dump_tasks.
#pragma once

#include <corio/net/endpoint.hpp>
#include <corio/net/socket_results.hpp>
#include <corio/unique_fd.hpp>

#include <corio/detail/backend/io_op.hpp>
#include <corio/detail/sys.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <ostream>
#include <span>
#include <string>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef CORIO_HAS_IO_URING
#include <liburing.h>
#endif

namespace corio::detail {

// The most one call moves (Linux's own limit per read or write): a count always fits an int.
inline constexpr std::size_t max_transfer = 0x7ffff000;

inline int syscall_result(ssize_t r) noexcept {
    return r < 0 ? -errno : static_cast<int>(r);
}

// "64 KiB", "1 MiB", "100 bytes": how dump_tasks shows a buffer.
inline void describe_size(std::ostream& out, std::size_t n) {
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        out << (n >> 20) << " MiB";
    else if (n >= 1024 && n % 1024 == 0)
        out << (n >> 10) << " KiB";
    else
        out << n << (n == 1 ? " byte" : " bytes");
}

// What all socket operations share: the fd, and the failure as std::system_error naming the
// call and the fd ("corio: sock_recv on fd 7: Socket operation on non-socket").
class socket_op {
public:
    static constexpr bool readiness_wait = false;

    socket_op(int fd, io_direction direction, const char* name) noexcept
        : fd_(fd), direction_(direction), name_(name) {}

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] io_direction direction() const noexcept { return direction_; }

protected:
    int check(int result) const {
        if (result < 0)
            sys::throw_error(-result,
                             std::string("corio: ") + name_ + " on fd " + std::to_string(fd_));
        return result;
    }

    void describe_call(std::ostream& out) const { out << name_ << " on fd " << fd_; }

    // "sock_recv on fd 7, 64 KiB"
    void describe_buffer(std::ostream& out, std::size_t size) const {
        describe_call(out);
        out << ", ";
        describe_size(out, size);
    }

    int fd_;
    io_direction direction_;
    const char* name_;
};

class recv_op : public socket_op {
public:
    recv_op(int fd, std::span<std::byte> buffer, const char* name = "sock_recv") noexcept
        : socket_op(fd, io_direction::read, name), buffer_(buffer) {}

    int perform() noexcept {
        return syscall_result(
            ::recv(fd_, buffer_.data(), std::min(buffer_.size(), max_transfer), MSG_DONTWAIT));
    }
#ifdef CORIO_HAS_IO_URING
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_recv(&sqe, fd_, buffer_.data(), std::min(buffer_.size(), max_transfer), 0);
    }
#endif
    std::size_t finish(int result) const {
        return static_cast<std::size_t>(check(result));
    }
    void describe(std::ostream& out) const {
        describe_buffer(out, buffer_.size());
    }

private:
    std::span<std::byte> buffer_;
};

// Sends until every byte is gone: on a readiness backend, as many sends as the socket takes
// each time it is writable.
class sendall_op : public socket_op {
public:
    sendall_op(int fd, std::span<const std::byte> data, const char* name = "sock_sendall") noexcept
        : socket_op(fd, io_direction::write, name), data_(data) {}

    /// The bytes the kernel has taken so far.
    [[nodiscard]] std::size_t sent() const noexcept { return sent_; }

    int perform() noexcept {
        while (sent_ < data_.size()) {
            // MSG_NOSIGNAL: a peer that left gives EPIPE, never a SIGPIPE that kills the process.
            const ssize_t n = ::send(fd_,
                                     data_.data() + sent_,
                                     std::min(data_.size() - sent_, max_transfer),
                                     MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno != EINTR)
                return -errno;
            sent_ += n < 0 ? 0 : static_cast<std::size_t>(n);
        }
        return 0;
    }
#ifdef CORIO_HAS_IO_URING
    // MSG_WAITALL: the kernel keeps sending until all is gone; one that stops short anyway
    // is submitted again for the rest (partial).
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_send(&sqe,
                           fd_,
                           data_.data() + sent_,
                           std::min(data_.size() - sent_, max_transfer),
                           MSG_NOSIGNAL | MSG_WAITALL);
    }
#endif
    // A completion's bytes (perform's 0 says all is gone already): true while some remain.
    bool partial(int result) noexcept {
        if (result <= 0)
            return false;
        sent_ += static_cast<std::size_t>(result);
        return sent_ < data_.size();
    }
    void finish(int result) const {
        check(result);
    }
    void describe(std::ostream& out) const {
        describe_call(out);
        out << ", " << sent_ << " of ";
        describe_size(out, data_.size());
        out << " sent";
    }

private:
    std::span<const std::byte> data_;
    std::size_t sent_ = 0;
};

class accept_op : public socket_op {
public:
    explicit accept_op(int fd) noexcept : socket_op(fd, io_direction::read, "sock_accept") {}

    int perform() noexcept {
        size_ = sizeof peer_;
        return syscall_result(::accept4(
            fd_, reinterpret_cast<sockaddr*>(&peer_), &size_, SOCK_NONBLOCK | SOCK_CLOEXEC));
    }
#ifdef CORIO_HAS_IO_URING
    void prepare(io_uring_sqe& sqe) noexcept {
        size_ = sizeof peer_;
        io_uring_prep_accept(
            &sqe, fd_, reinterpret_cast<sockaddr*>(&peer_), &size_, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
#endif
    accepted finish(int result) const {
        return {unique_fd(check(result)),
                endpoint(reinterpret_cast<const sockaddr*>(&peer_), size_)};
    }
    // A connection accepted for a task that went away: nobody else will close it.
    static void discard(int fd) noexcept {
        sys::close(fd);
    }
    void describe(std::ostream& out) const {
        describe_call(out);
    }

private:
    sockaddr_storage peer_{};
    socklen_t size_ = 0;
};

/// Where accept_many_op hands each connection it accepts.
class accept_sink {
public:
    virtual void accepted(unique_fd connection) noexcept = 0;

protected:
    ~accept_sink() = default;
};

// A listener's accept loop as one operation: it hands every connection to its sink and stays
// waiting for the next, until an accept fails. On a readiness backend each readiness accepts
// all that wait; on io_uring one multishot submission (Linux 5.19) accepts them all, so the
// loop's task never resumes for a connection. `multishot` false: one accept per submission,
// for older kernels.
class accept_many_op : public socket_op {
public:
    accept_many_op(int fd, accept_sink& sink, bool multishot) noexcept
        : socket_op(fd, io_direction::read, "accept"), sink_(&sink), multishot_(multishot) {}

    int perform() noexcept {
        for (;;) {
            const int r =
                syscall_result(::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (r < 0)
                return r;
            sink_->accepted(unique_fd(r));
        }
    }
#ifdef CORIO_HAS_IO_URING
    void prepare(io_uring_sqe& sqe) noexcept {
        if (multishot_)
            io_uring_prep_multishot_accept(
                &sqe, fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        else
            io_uring_prep_accept(&sqe, fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
    void progress(int result) noexcept {
        if (result >= 0)
            sink_->accepted(unique_fd(result));
    }
#endif
    // The last result: a connection too (a one-shot accept's, or one the kernel ended a
    // multishot with), or why accepting stopped.
    void finish(int result) const {
        sink_->accepted(unique_fd(check(result)));
    }
    static void discard(int fd) noexcept {
        sys::close(fd);
    }
    void describe(std::ostream& out) const {
        describe_call(out);
    }

private:
    accept_sink* sink_;
    bool multishot_;
};

class connect_op : public socket_op {
public:
    connect_op(int fd, const endpoint& peer) noexcept
        : socket_op(fd, io_direction::write, "sock_connect"), peer_(peer) {}

    // connect once; while it is in progress the socket is not writable, and once it is, its
    // SO_ERROR says how the connection went.
    int perform() noexcept {
        if (!started_) {
            started_ = true;
            if (::connect(fd_, peer_.data(), peer_.size()) == 0)
                return 0;
            if (errno == EINPROGRESS || errno == EINTR)
                return -EAGAIN;
            // A Unix listener with a full backlog: not "in progress", and the socket would
            // look ready at once. Failed, not parked.
            return errno == EAGAIN ? backlog_full : -errno;
        }
        int error = 0;
        socklen_t size = sizeof error;
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size) < 0)
            return -errno;
        return -error;
    }
#ifdef CORIO_HAS_IO_URING
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_connect(&sqe, fd_, peer_.data(), peer_.size());
    }
#endif
    void finish(int result) const {
        check(result == backlog_full ? -EAGAIN : result);
    }
    void describe(std::ostream& out) const {
        describe_call(out);
        out << " to " << peer_.to_string();
    }

private:
    static constexpr int backlog_full = 1;

    endpoint peer_;
    bool started_ = false;
};

// On io_uring a recvmsg/sendmsg: the header and its one iovec live here, where the kernel
// reads them, as long as the operation is in flight.
class recvfrom_op : public socket_op {
public:
    recvfrom_op(int fd, std::span<std::byte> buffer) noexcept
        : socket_op(fd, io_direction::read, "sock_recvfrom"), buffer_(buffer) {}

    int perform() noexcept {
        message_.msg_namelen = sizeof peer_;
        return syscall_result(::recvfrom(fd_,
                                         buffer_.data(),
                                         std::min(buffer_.size(), max_transfer),
                                         MSG_DONTWAIT,
                                         reinterpret_cast<sockaddr*>(&peer_),
                                         &message_.msg_namelen));
    }
#ifdef CORIO_HAS_IO_URING
    void prepare(io_uring_sqe& sqe) noexcept {
        vector_ = {buffer_.data(), std::min(buffer_.size(), max_transfer)};
        message_ = {};
        message_.msg_name = &peer_;
        message_.msg_namelen = sizeof peer_;
        message_.msg_iov = &vector_;
        message_.msg_iovlen = 1;
        io_uring_prep_recvmsg(&sqe, fd_, &message_, 0);
    }
#endif
    received_from finish(int result) const {
        return {static_cast<std::size_t>(check(result)),
                endpoint(reinterpret_cast<const sockaddr*>(&peer_), message_.msg_namelen)};
    }
    void describe(std::ostream& out) const {
        describe_buffer(out, buffer_.size());
    }

private:
    std::span<std::byte> buffer_;
    sockaddr_storage peer_{};
    msghdr message_{};
    iovec vector_{};
};

class sendto_op : public socket_op {
public:
    sendto_op(int fd, std::span<const std::byte> data, const endpoint& peer) noexcept
        : socket_op(fd, io_direction::write, "sock_sendto"), data_(data), peer_(peer) {}

    int perform() noexcept {
        return syscall_result(::sendto(fd_,
                                       data_.data(),
                                       std::min(data_.size(), max_transfer),
                                       MSG_DONTWAIT | MSG_NOSIGNAL,
                                       peer_.data(),
                                       peer_.size()));
    }
#ifdef CORIO_HAS_IO_URING
    void prepare(io_uring_sqe& sqe) noexcept {
        // sendmsg's iovec is not const; the kernel only reads from it.
        vector_ = {const_cast<std::byte*>(data_.data()), std::min(data_.size(), max_transfer)};
        message_ = {};
        message_.msg_name = const_cast<sockaddr*>(peer_.data());
        message_.msg_namelen = peer_.size();
        message_.msg_iov = &vector_;
        message_.msg_iovlen = 1;
        io_uring_prep_sendmsg(&sqe, fd_, &message_, MSG_NOSIGNAL);
    }
#endif
    std::size_t finish(int result) const {
        return static_cast<std::size_t>(check(result));
    }
    void describe(std::ostream& out) const {
        describe_call(out);
        out << " to " << peer_.to_string() << ", ";
        describe_size(out, data_.size());
    }

private:
    std::span<const std::byte> data_;
    endpoint peer_;
    msghdr message_{};
    iovec vector_{};
};

} // namespace corio::detail
