// SPDX-License-Identifier: MIT
// corio/net/unix_stream.hpp: unix_stream, a connected Unix-domain stream socket as a stream.
// Layer L5.
#pragma once

#include <corio/net/socket_stream.hpp>

#include <corio/detail/ready.hpp>

#include <exception>
#include <utility>

namespace corio {

/// A Unix-domain stream connection: socket_stream's reads and writes. open_unix_connection
/// makes one, a Unix server hands one to each connection's handler, and one end of a
/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK) can be adopted.
/// An AsyncResource: `with(stream, body)` closes it after the body.
class unix_stream : public socket_stream {
public:
    /// Adopts a connected, non-blocking Unix stream socket.
    /// Throws: `std::invalid_argument` for an empty fd or a limit of 0.
    explicit unix_stream(unique_fd socket, connection_options options = {})
        : socket_stream(std::move(socket), options) {}

    detail::ready<unix_stream&> aenter() noexcept { return detail::ready<unix_stream&>(*this); }
    [[nodiscard]] task<> aexit(const std::exception_ptr&) { return close(); }
};

} // namespace corio
