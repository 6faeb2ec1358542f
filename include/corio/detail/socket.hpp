// SPDX-License-Identifier: MIT
// corio/detail/socket.hpp: open_socket and socket_name, the plain socket calls that streams,
// servers and UDP sockets share.
// Layer L1.
#pragma once

#include <corio/net/endpoint.hpp>
#include <corio/unique_fd.hpp>

#include <corio/detail/sys.hpp>

#include <cerrno>

#include <sys/socket.h>

namespace corio::detail {

/// A new non-blocking, close-on-exec socket of `family` and `type`.
inline unique_fd open_socket(int family, int type) {
    unique_fd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        sys::throw_error(errno, "corio: socket");
    return fd;
}

/// The socket's own address (`name` = ::getsockname) or its peer's (::getpeername); an empty
/// endpoint when it has none.
inline endpoint socket_name(int fd, int (*name)(int, sockaddr*, socklen_t*)) {
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    if (name(fd, reinterpret_cast<sockaddr*>(&address), &size) < 0)
        return endpoint();
    return endpoint(reinterpret_cast<const sockaddr*>(&address), size);
}

} // namespace corio::detail
