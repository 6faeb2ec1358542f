// SPDX-License-Identifier: MIT
// corio/unique_fd.hpp: unique_fd, the owner of one file descriptor.
// Layer L1.
#pragma once

#include <corio/detail/sys.hpp>

#include <utility>

namespace corio {

/// Owns a file descriptor and closes it in its destructor, as std::unique_ptr owns memory.
/// Move-only; a moved-from one is empty. sock_accept returns the accepted socket in one.
class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other)
            reset(other.release());
        return *this;
    }
    ~unique_fd() { reset(); }

    /// The descriptor, still owned; -1 when empty.
    [[nodiscard]] int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }

    /// Gives the descriptor up without closing it: the caller owns it now.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

    /// Closes the descriptor held, if any, and owns `fd` instead.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0)
            detail::sys::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

} // namespace corio
