// SPDX-License-Identifier: MIT
// corio/net/udp_socket.hpp: udp_socket, datagrams to and from any peer, or one connected peer.
// Layer L6.
#pragma once

#include <corio/errors.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/resolve.hpp>
#include <corio/net/socket_results.hpp>
#include <corio/task.hpp>
#include <corio/unique_fd.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/owned_io.hpp>
#include <corio/detail/socket.hpp>
#include <corio/detail/socket_ops.hpp>
#include <corio/detail/sys.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/socket.h>

namespace corio {

namespace detail {

// What a UDP socket's operations share with it: they may outlive the object.
struct udp_state {
    explicit udp_state(unique_fd socket) : fd(std::move(socket)) {
        if (loop_core* core = running_core_slot())
            attachment.attach(core->backend(), fd.get());
    }

    unique_fd fd;
    fd_attachment attachment; // released before the fd closes
    endpoint local;
    endpoint remote;
    owned_io_list in_flight;

    void check_open(const char* what) const {
        if (!fd)
            throw invalid_state_error(std::string("corio: udp_socket ") + what + " after close()");
    }
    [[nodiscard]] const endpoint& peer() const {
        if (remote.family() == AF_UNSPEC)
            throw invalid_state_error("corio: udp_socket send/recv before connect()");
        return remote;
    }
    // An operation that close() ended: the socket is gone.
    void check_result(int result) const {
        if (result == -ECANCELED && !fd)
            throw invalid_state_error("corio: the udp_socket was closed during the operation");
    }
};

// Results come back as they are, so that one ended by close() can be told from a failure.
class udp_recv_op final : public recvfrom_op {
public:
    udp_recv_op(int fd, std::span<std::byte> buffer) noexcept : recvfrom_op(fd, buffer) {}
    int finish(int result) const noexcept { return result; }
    received_from take(int result) const { return recvfrom_op::finish(result); }
};

class udp_send_op final : public sendto_op {
public:
    udp_send_op(int fd, std::span<const std::byte> data, const endpoint& peer) noexcept
        : sendto_op(fd, data, peer) {}
    int finish(int result) const noexcept { return result; }
    std::size_t take(int result) const { return sendto_op::finish(result); }
};

} // namespace detail

/// A UDP socket: bound to a local address, optionally connected to one peer (then send and
/// recv need no address, and datagrams from other peers are dropped by the kernel). Several
/// tasks may send and receive at once. Move-only; destroying it closes the socket.
/// asyncio: the transport and protocol of `loop.create_datagram_endpoint`, as awaited calls.
/// Thread safety: the loop's thread only.
class udp_socket {
public:
    /// A socket bound to `host` (a numeric address or a name: its first address) at `port`
    /// (0: the kernel picks one). asyncio: `create_datagram_endpoint(local_addr=(host, port))`.
    /// Throws (when awaited): what resolve throws; `std::system_error` naming the address when
    /// it cannot be bound (address_in_use).
    [[nodiscard]] static task<udp_socket> bind(std::string_view host, std::uint16_t port) {
        return bind_to(std::string(host), port); // copied: the view may go
    }

    udp_socket(udp_socket&&) noexcept = default;
    udp_socket& operator=(udp_socket&& other) noexcept {
        if (this != &other) {
            close();
            state_ = std::move(other.state_);
        }
        return *this;
    }
    ~udp_socket() { close(); }

    /// Sets the only peer: `host` (a name: its first address of this socket's family) at
    /// `port`. asyncio: `remote_addr=`.
    [[nodiscard]] task<> connect(std::string_view host, std::uint16_t port) {
        return connect_to(shared(), std::string(host), port);
    }

    /// Sends one datagram to `peer`: the bytes sent (all of them: a datagram is not split).
    /// Throws: `std::system_error` (message_size for a datagram too long; connection_refused
    /// after an ICMP error on a connected socket); `invalid_state_error` after close().
    [[nodiscard]] task<std::size_t> send_to(std::span<const std::byte> data, const endpoint& peer) {
        return send_datagram(shared(), data, peer);
    }
    [[nodiscard]] task<std::size_t> send_to(std::string_view data, const endpoint& peer) {
        return send_to(std::as_bytes(std::span(data.data(), data.size())), peer);
    }

    /// Sends one datagram to the connected peer.
    /// Throws: `invalid_state_error` before connect(), and as send_to.
    [[nodiscard]] task<std::size_t> send(std::span<const std::byte> data) {
        return send_to(data, state().peer());
    }
    [[nodiscard]] task<std::size_t> send(std::string_view data) {
        return send_to(data, state().peer());
    }

    /// Receives one datagram into `into` and says who sent it. A datagram longer than `into`
    /// is truncated (the rest is lost, as with recvfrom).
    /// Cancellation: a datagram that arrived before the cancellation took effect is returned.
    /// Throws: `std::system_error`; `invalid_state_error` after close(), or when close() ends
    /// the wait.
    [[nodiscard]] task<received_from> recv_from(std::span<std::byte> into) {
        return receive(shared(), into);
    }

    /// recv_from from the connected peer: the datagram's size.
    [[nodiscard]] task<std::size_t> recv(std::span<std::byte> into) {
        static_cast<void>(state().peer());
        return receive_size(shared(), into);
    }

    /// This socket's address (with the port the kernel picked), and the connected peer's
    /// (empty before connect()); they keep their values after close().
    [[nodiscard]] const endpoint& local_endpoint() const { return state().local; }
    [[nodiscard]] const endpoint& remote_endpoint() const { return state().remote; }

    /// Closes the socket; operations other tasks still wait on end with invalid_state_error.
    /// Idempotent.
    void close() noexcept {
        if (!state_ || !state_->fd)
            return;
        state_->in_flight.abort_all();
        state_->attachment.release();
        state_->fd.reset();
    }

    /// The socket, for options corio has no call for (SO_BROADCAST); it stays this object's.
    [[nodiscard]] int native_handle() const { return state().fd.get(); }

private:
    using state_ptr = std::shared_ptr<detail::udp_state>;

    explicit udp_socket(state_ptr state) noexcept : state_(std::move(state)) {}

    [[nodiscard]] detail::udp_state& state() const {
        if (!state_)
            throw invalid_state_error("corio: use of a moved-from udp_socket");
        return *state_;
    }
    // The state, shared with the operation about to start: it may outlive this object.
    state_ptr shared() const {
        static_cast<void>(state());
        return state_;
    }

    static task<udp_socket> bind_to(std::string host, std::uint16_t port) {
        const endpoint address = (co_await resolve(host, port)).front();
        auto state =
            std::make_shared<detail::udp_state>(detail::open_socket(address.family(), SOCK_DGRAM));
        if (::bind(state->fd.get(), address.data(), address.size()) < 0)
            detail::sys::throw_error(errno,
                                     "corio: cannot bind a UDP socket to " + address.to_string());
        state->local = detail::socket_name(state->fd.get(), ::getsockname);
        co_return udp_socket(std::move(state));
    }

    static task<> connect_to(state_ptr s, std::string host, std::uint16_t port) {
        s->check_open("connect");
        const std::vector<endpoint> found = co_await resolve(host, port);
        const int family = s->local.family();
        auto match = std::find_if(found.begin(), found.end(), [family](const endpoint& e) {
            return e.family() == family;
        });
        if (match == found.end())
            throw std::system_error(std::make_error_code(std::errc::address_family_not_supported),
                                    "corio: '" + host +
                                        "' has no address of the udp_socket's family");
        s->check_open("connect");
        if (::connect(s->fd.get(), match->data(), match->size()) < 0)
            detail::sys::throw_error(errno,
                                     "corio: cannot connect a UDP socket to " + match->to_string());
        s->remote = *match;
    }

    static task<std::size_t>
    send_datagram(state_ptr s, std::span<const std::byte> data, endpoint peer) {
        s->check_open("send");
        detail::owned_io<detail::udp_send_op> op(detail::udp_send_op(s->fd.get(), data, peer),
                                                 s->in_flight);
        const int result = co_await op;
        s->check_result(result);
        co_return op.operation().take(result);
    }

    static task<received_from> receive(state_ptr s, std::span<std::byte> into) {
        s->check_open("recv");
        detail::owned_io<detail::udp_recv_op> op(detail::udp_recv_op(s->fd.get(), into),
                                                 s->in_flight);
        const int result = co_await op;
        s->check_result(result);
        co_return op.operation().take(result);
    }

    static task<std::size_t> receive_size(state_ptr s, std::span<std::byte> into) {
        co_return (co_await receive(std::move(s), into)).size;
    }

    state_ptr state_;
};

} // namespace corio
