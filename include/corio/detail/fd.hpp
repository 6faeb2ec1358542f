// SPDX-License-Identifier: MIT
// corio/detail/fd.hpp: unique_fd, the owner of one file descriptor.
// Layer L1.
#pragma once

#include <corio/detail/sys.hpp>

#include <utility>

namespace corio::detail {

class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other)
            reset(std::exchange(other.fd_, -1));
        return *this;
    }
    ~unique_fd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }

    void reset(int fd = -1) noexcept {
        if (fd_ >= 0)
            sys::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

} // namespace corio::detail
