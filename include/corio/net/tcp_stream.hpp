// SPDX-License-Identifier: MIT
// corio/net/tcp_stream.hpp: tcp_stream, a connected TCP socket as a stream.
// Layer L5.
#pragma once

#include <corio/net/socket_stream.hpp>

#include <corio/detail/ready.hpp>
#include <corio/detail/sys.hpp>

#include <exception>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace corio {

/// A TCP connection: socket_stream's reads and writes, with TCP_NODELAY on (asyncio does the
/// same). open_connection makes one; a server hands one to each connection's handler.
/// An AsyncResource: `with(stream, body)` closes it after the body.
class tcp_stream : public socket_stream {
public:
    /// Adopts a connected, non-blocking TCP socket and turns TCP_NODELAY on.
    /// Throws: `std::invalid_argument` for an empty fd or a limit of 0; `std::system_error`
    /// when the fd is not a TCP socket.
    explicit tcp_stream(unique_fd socket, connection_options options = {})
        : socket_stream(std::move(socket), options) {
        set_nodelay(true);
    }

    /// TCP_NODELAY: false turns Nagle's algorithm back on, so small writes are coalesced.
    void set_nodelay(bool on) {
        const int value = on ? 1 : 0;
        if (::setsockopt(native_handle(), IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) < 0)
            detail::sys::throw_error(errno, "corio: set_nodelay");
    }

    detail::ready<tcp_stream&> aenter() noexcept { return detail::ready<tcp_stream&>(*this); }
    [[nodiscard]] task<> aexit(const std::exception_ptr&) { return close(); }
};

} // namespace corio
