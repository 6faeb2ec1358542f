// SPDX-License-Identifier: MIT
// corio/net/socket_results.hpp: accepted and received_from, what sock_accept and
// sock_recvfrom return.
// Layer L1.
#pragma once

#include <corio/net/endpoint.hpp>
#include <corio/unique_fd.hpp>

#include <cstddef>

namespace corio {

/// A connection sock_accept took: its socket (non-blocking, close-on-exec, now the caller's)
/// and the peer's address.
struct accepted {
    unique_fd fd;
    endpoint peer;
};

/// A datagram sock_recvfrom received: its size (as much as fit) and its sender.
struct received_from {
    std::size_t size = 0;
    endpoint peer;
};

} // namespace corio
