// SPDX-License-Identifier: MIT
// corio/net/resolve.hpp: resolve, which turns a host name and a port into endpoints, and
// resolver_category, the error category of its failures.
// Layer L6: getaddrinfo on the loop's thread pool.
#pragma once

#include <corio/net/endpoint.hpp>
#include <corio/task.hpp>
#include <corio/to_thread.hpp>

#include <cerrno>
#include <cstdint>
#include <netdb.h>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/socket.h>

namespace corio {

/// The category of getaddrinfo's EAI_* codes: message() is gai_strerror's.
inline const std::error_category& resolver_category() noexcept {
    class category final : public std::error_category {
    public:
        const char* name() const noexcept override { return "resolver"; }
        std::string message(int code) const override { return ::gai_strerror(code); }
    };
    static const category instance;
    return instance;
}

namespace detail {

// The blocking part, run on a pool thread: getaddrinfo and its list copied into endpoints.
// One entry per address: asking for stream sockets only keeps getaddrinfo from listing
// each address again for datagram and raw sockets.
inline std::vector<endpoint> lookup(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const int r = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
    if (r == EAI_SYSTEM)
        throw std::system_error(
            errno, std::generic_category(), "corio: cannot resolve '" + host + "'");
    if (r != 0)
        throw std::system_error(r, resolver_category(), "corio: cannot resolve '" + host + "'");
    std::vector<endpoint> found;
    for (const addrinfo* a = list; a != nullptr; a = a->ai_next)
        found.emplace_back(a->ai_addr, a->ai_addrlen);
    ::freeaddrinfo(list);
    return found;
}

inline task<std::vector<endpoint>> resolve_name(std::string host, std::uint16_t port) {
    co_return co_await to_thread(lookup, std::move(host), port);
}

inline task<std::vector<endpoint>> already_resolved(endpoint e) {
    co_return std::vector{e};
}

} // namespace detail

/// The addresses of `host` (a name, or a numeric IPv4 or IPv6 address, which is returned as it
/// is without a lookup) with `port`, in getaddrinfo's order, IPv4 and IPv6 (only the
/// families this machine has an address of: AI_ADDRCONFIG); never empty. asyncio:
/// `loop.getaddrinfo(host, port)`.
/// Cancellation: always cancellable; a lookup already running finishes on its thread and its
/// result is dropped.
/// Throws (when awaited): `std::system_error` with the EAI_* code in resolver_category()
/// and gai_strerror's message, naming the host; EAI_SYSTEM as its errno in
/// std::generic_category().
[[nodiscard]] inline task<std::vector<endpoint>> resolve(std::string_view host,
                                                         std::uint16_t port) {
    if (std::optional<endpoint> numeric = endpoint::parse(host, port))
        return detail::already_resolved(*numeric);
    return detail::resolve_name(std::string(host), port); // copied: the caller's view may go
}

} // namespace corio
