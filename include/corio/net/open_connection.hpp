// SPDX-License-Identifier: MIT
// corio/net/open_connection.hpp: open_connection (TCP, by host name or address) and
// open_unix_connection.
// Layer L6.
#pragma once

#include <corio/net/endpoint.hpp>
#include <corio/net/resolve.hpp>
#include <corio/net/tcp_stream.hpp>
#include <corio/net/unix_stream.hpp>
#include <corio/task.hpp>
#include <corio/unique_fd.hpp>

#include <corio/detail/io_awaiter.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/socket.hpp>
#include <corio/detail/socket_ops.hpp>
#include <corio/detail/sys.hpp>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/socket.h>

namespace corio {
namespace detail {

// A stream socket connected to `peer`.
inline task<unique_fd> connect_to(endpoint peer) {
    unique_fd fd = open_socket(peer.family(), SOCK_STREAM);
    co_await io_awaiter<connect_op>(running_core(), connect_op(fd.get(), peer));
    co_return fd;
}

// Each address in turn until one connects (asyncio's order); when all fail, their error if
// they agree on it, else the last one's.
inline task<tcp_stream>
connect_tcp(std::string host, std::uint16_t port, connection_options options) {
    const std::vector<endpoint> addresses = co_await resolve(host, port);
    std::exception_ptr last;
    std::error_code common;
    bool agree = true;
    for (const endpoint& address : addresses) {
        try {
            co_return tcp_stream(co_await connect_to(address), options);
        } catch (const std::system_error& e) {
            agree = agree && (!last || e.code() == common);
            common = e.code();
            last = std::current_exception();
        }
    }
    if (!agree)
        std::rethrow_exception(last);
    throw std::system_error(common,
                            "corio: cannot connect to '" + host + "' port " + std::to_string(port) +
                                (addresses.size() > 1
                                     ? " (" + std::to_string(addresses.size()) + " addresses)"
                                     : std::string()));
}

inline task<unix_stream> connect_unix(endpoint path, connection_options options) {
    try {
        co_return unix_stream(co_await connect_to(path), options);
    } catch (const std::system_error& e) {
        throw std::system_error(e.code(), "corio: cannot connect to " + path.to_string());
    }
}

} // namespace detail

/// A TCP connection to `host` (a name, resolved on the thread pool, or a numeric address) at
/// `port`: each address it resolves to is tried in order until one connects. asyncio:
/// `await asyncio.open_connection(host, port, limit=...)`, with the reader and the writer as
/// one stream.
/// Throws (when awaited): what resolve throws for a name that does not resolve;
/// `std::system_error` when no address connects (connection_refused, ...): the addresses'
/// common error, or the last one's when they differ; `std::invalid_argument` for a limit of 0.
[[nodiscard]] inline task<tcp_stream>
open_connection(std::string_view host, std::uint16_t port, connection_options options = {}) {
    return detail::connect_tcp(std::string(host), port, options); // copied: the view may go
}

/// A connection to the Unix-domain stream socket at `path` (a leading '\0': the abstract
/// namespace). asyncio: `await asyncio.open_unix_connection(path)`.
/// Throws: `std::invalid_argument` for a path that is empty or too long; when awaited,
/// `std::system_error` naming the path (no_such_file_or_directory, connection_refused).
[[nodiscard]] inline task<unix_stream> open_unix_connection(std::string_view path,
                                                            connection_options options = {}) {
    return detail::connect_unix(endpoint::unix_path(path), options);
}

} // namespace corio
