// SPDX-License-Identifier: MIT
// corio/net/endpoint.hpp: endpoint, an IPv4, IPv6 or Unix-domain socket address.
// Layer L1: plain data over <sys/socket.h>, no loop.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <net/if.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace corio {

/// A socket address as the system calls take it: IPv4, IPv6 (with its scope, `fe80::1%eth0`)
/// or a Unix-domain path (a leading '\0' names an abstract socket, printed as '@'). Parsing is
/// numeric only: names go through resolve. A default-constructed endpoint has no family
/// (AF_UNSPEC) and prints as an empty string.
class endpoint {
public:
    endpoint() noexcept { std::memset(&storage_, 0, sizeof storage_); }

    /// Throws: `std::invalid_argument` naming `ip` when it is not a numeric IPv4 or IPv6
    /// address.
    endpoint(std::string_view ip, std::uint16_t port) {
        if (std::optional<endpoint> e = parse(ip, port)) {
            *this = *e;
            return;
        }
        throw std::invalid_argument("corio: '" + std::string(ip) +
                                    "' is not a numeric IPv4 or IPv6 address (names go "
                                    "through resolve)");
    }

    /// The endpoint of a numeric IPv4 or IPv6 address, or none when `ip` is not one.
    static std::optional<endpoint> parse(std::string_view ip, std::uint16_t port) {
        endpoint e;
        const std::string text(ip);
        if (e.parse_v4(text, port) || e.parse_v6(text, port))
            return e;
        return std::nullopt;
    }

    /// An address as a system call returned it (accept, recvfrom, getsockname). Throws:
    /// `std::invalid_argument` when `size` is larger than any socket address.
    endpoint(const sockaddr* address, socklen_t size) : endpoint() {
        if (size > sizeof storage_)
            throw std::invalid_argument("corio: a socket address of " + std::to_string(size) +
                                        " bytes is longer than any known family's");
        std::memcpy(&storage_, address, size);
        size_ = size;
    }

    /// A Unix-domain socket's path. Throws: `std::invalid_argument` when `path` is empty or
    /// longer than sun_path allows (107 bytes).
    static endpoint unix_path(std::string_view path) {
        endpoint e;
        sockaddr_un& un = e.as<sockaddr_un>();
        const bool abstract = !path.empty() && path.front() == '\0';
        // A filesystem path needs its terminating NUL; an abstract name is counted by size.
        if (path.empty() || path.size() + (abstract ? 0 : 1) > sizeof un.sun_path)
            throw std::invalid_argument("corio: a Unix socket path must have 1 to " +
                                        std::to_string(sizeof un.sun_path - 1) + " bytes, not " +
                                        std::to_string(path.size()));
        un.sun_family = AF_UNIX;
        std::memcpy(un.sun_path, path.data(), path.size());
        e.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                         (abstract ? 0 : 1));
        return e;
    }

    /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC for an empty endpoint.
    [[nodiscard]] int family() const noexcept {
        return size_ == 0 ? AF_UNSPEC : storage_.ss_family;
    }

    /// The numeric address (`127.0.0.1`, `::1`, `fe80::1%2`), or the Unix path.
    [[nodiscard]] std::string address() const {
        char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 1] = {};
        switch (family()) {
        case AF_INET:
            ::inet_ntop(AF_INET, &as<sockaddr_in>().sin_addr, text, sizeof text);
            return text;
        case AF_INET6: {
            const sockaddr_in6& in6 = as<sockaddr_in6>();
            ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
            std::string result = text;
            if (in6.sin6_scope_id != 0)
                result += '%' + std::to_string(in6.sin6_scope_id);
            return result;
        }
        case AF_UNIX:
            return unix_name();
        default:
            return {};
        }
    }

    /// The port; 0 for a Unix-domain endpoint.
    [[nodiscard]] std::uint16_t port() const noexcept {
        switch (family()) {
        case AF_INET:
            return ntohs(as<sockaddr_in>().sin_port);
        case AF_INET6:
            return ntohs(as<sockaddr_in6>().sin6_port);
        default:
            return 0;
        }
    }

    /// `127.0.0.1:80`, `[::1]:80`, or the Unix path.
    [[nodiscard]] std::string to_string() const {
        switch (family()) {
        case AF_INET:
            return address() + ':' + std::to_string(port());
        case AF_INET6:
            return '[' + address() + "]:" + std::to_string(port());
        default:
            return address();
        }
    }

    [[nodiscard]] const sockaddr* data() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    [[nodiscard]] socklen_t size() const noexcept { return size_; }

    /// Same family, address and port (IPv6: and scope), or the same Unix path.
    friend bool operator==(const endpoint& a, const endpoint& b) noexcept {
        if (a.family() != b.family())
            return false;
        switch (a.family()) {
        case AF_INET:
            return a.port() == b.port() &&
                   a.as<sockaddr_in>().sin_addr.s_addr == b.as<sockaddr_in>().sin_addr.s_addr;
        case AF_INET6: {
            const sockaddr_in6& x = a.as<sockaddr_in6>();
            const sockaddr_in6& y = b.as<sockaddr_in6>();
            return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
                   std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
        }
        default:
            return a.unix_name() == b.unix_name();
        }
    }

private:
    template <class S>
    S& as() noexcept {
        return *reinterpret_cast<S*>(&storage_);
    }
    template <class S>
    const S& as() const noexcept {
        return *reinterpret_cast<const S*>(&storage_);
    }

    bool parse_v4(const std::string& text, std::uint16_t port) noexcept {
        sockaddr_in& in = as<sockaddr_in>();
        if (::inet_pton(AF_INET, text.c_str(), &in.sin_addr) != 1)
            return false;
        in.sin_family = AF_INET;
        in.sin_port = htons(port);
        size_ = sizeof in;
        return true;
    }

    // An IPv6 address, with an optional scope after '%': an interface name or its index.
    bool parse_v6(const std::string& text, std::uint16_t port) noexcept {
        sockaddr_in6& in6 = as<sockaddr_in6>();
        const std::size_t percent = text.find('%');
        if (::inet_pton(AF_INET6, text.substr(0, percent).c_str(), &in6.sin6_addr) != 1)
            return false;
        if (percent != std::string::npos && !parse_scope(text.substr(percent + 1), in6))
            return false;
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        size_ = sizeof in6;
        return true;
    }

    static bool parse_scope(const std::string& scope, sockaddr_in6& in6) noexcept {
        if (scope.empty())
            return false;
        if (std::all_of(scope.begin(), scope.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            in6.sin6_scope_id =
                static_cast<std::uint32_t>(std::strtoul(scope.c_str(), nullptr, 10));
            return true;
        }
        in6.sin6_scope_id = ::if_nametoindex(scope.c_str());
        return in6.sin6_scope_id != 0;
    }

    // The path of a Unix endpoint, '@' for an abstract one's leading NUL; empty when unnamed.
    std::string unix_name() const {
        const std::size_t offset = offsetof(sockaddr_un, sun_path);
        if (size_ <= offset)
            return {};
        const char* path = as<sockaddr_un>().sun_path;
        std::size_t length = size_ - offset;
        if (path[0] == '\0')
            return '@' + std::string(path + 1, length - 1);
        return std::string(path, strnlen(path, length));
    }

    sockaddr_storage storage_;
    socklen_t size_ = 0;
};

} // namespace corio
