// SPDX-License-Identifier: MIT
// corio/detail/sys.hpp: errno to std::system_error, and the syscalls corio retries on EINTR.
// Layer L1.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <unistd.h>

namespace corio::detail::sys {

/// Throws std::system_error for `err` (an errno value) with `what` naming the call.
[[noreturn]] inline void throw_error(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

/// Returns `result`, or throws the current errno as std::system_error when it is negative.
template <class R>
R check(R result, const char* what) {
    if (result < 0)
        throw_error(errno, what);
    return result;
}

inline void close(int fd) noexcept {
    // Linux releases the descriptor even when close reports EINTR: never retry.
    ::close(fd);
}

} // namespace corio::detail::sys
