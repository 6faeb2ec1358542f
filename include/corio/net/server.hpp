// SPDX-License-Identifier: MIT
// corio/net/server.hpp: server, start_server (TCP) and start_unix_server: a listening socket
// per address, and a task per connection running the caller's handler.
// Layer L6.
#pragma once

#include <corio/errors.hpp>
#include <corio/event.hpp>
#include <corio/event_loop.hpp>
#include <corio/exception_context.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/resolve.hpp>
#include <corio/net/tcp_stream.hpp>
#include <corio/net/unix_stream.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>
#include <corio/time.hpp>
#include <corio/unique_fd.hpp>

#include <corio/detail/io_awaiter.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/ready.hpp>
#include <corio/detail/socket.hpp>
#include <corio/detail/socket_ops.hpp>
#include <corio/detail/sys.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace corio {

/// How start_server and start_unix_server listen. asyncio: the arguments of `start_server`.
struct server_options {
    int backlog = 100;         ///< listen()'s queue of connections not accepted yet
    bool reuse_port = false;   ///< SO_REUSEPORT: several loops or processes share the port
    std::size_t limit = 65536; ///< each connection stream's limit (connection_options::limit)
};

namespace detail {

// What a server shares with its tasks (one accept loop per listening socket, one task per
// connection). Each task is a child, as in a task_group, that holds the state until the task
// is done: the server object may go first (destroying it closes the server).
struct server_state {
    struct child final : done_listener {
        explicit child(std::shared_ptr<server_state> s) noexcept : server(std::move(s)) {}
        void task_done(task_state&) noexcept override {
            const std::shared_ptr<server_state> keep = std::move(server); // may be the last
            keep->child_done(self);
        }

        std::shared_ptr<server_state> server;
        std::list<child>::iterator self;
        task_ref task;
    };

    std::vector<endpoint> sockets;
    std::list<child> children;
    event finished;          // set once closed with every task done
    std::string socket_file; // a Unix server's, removed on close if it is still the one bound
    ino_t socket_inode = 0;
    bool closed = false;

    void close() noexcept {
        if (closed)
            return;
        closed = true;
        sockets.clear();
        remove_socket_file();
        for (child& c : children)
            c.task->cancel({});
        if (children.empty())
            finished.set();
    }

    void child_done(std::list<child>::iterator node) noexcept {
        children.erase(node); // the loop still holds the task: this is not its last reference
        if (closed && children.empty())
            finished.set();
    }

    void remove_socket_file() noexcept {
        struct stat now {};
        if (!socket_file.empty() && ::stat(socket_file.c_str(), &now) == 0 &&
            now.st_ino == socket_inode)
            ::unlink(socket_file.c_str());
    }
};

// Runs `body` as one of the server's tasks.
inline void start_server_task(const std::shared_ptr<server_state>& state, task<> body) {
    state->children.emplace_back(state); // first: if it throws, nothing was spawned
    try {
        task_handle<> handle = spawn(std::move(body));
        const auto node = std::prev(state->children.end());
        node->self = node;
        node->task = task_ref(&handle.state());
        handle.state().add_listener(*node);
    } catch (...) {
        state->children.pop_back();
        throw;
    }
}

inline void report(std::string message) {
    get_running_loop().call_exception_handler(
        {std::move(message), std::current_exception(), current_task()});
}

// Runs a handler's task for one connection. The frame holds `handler`, the server's copy of
// the caller's handler that `body` runs in, until it is done.
inline task<> serve_connection([[maybe_unused]] std::shared_ptr<const void> handler, task<> body) {
    try {
        co_await std::move(body);
    } catch (const cancelled_error&) { // the server closed: not a failure
    } catch (...) {
        report("Unhandled exception in a server's connection handler");
    }
}

// accept(2)'s errors that concern one connection, not the listener: try the next.
inline bool connection_error(int error) noexcept {
    switch (error) {
    case ECONNRESET:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case EINTR:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case ETIMEDOUT:
        return true;
    default:
        return false;
    }
}

inline bool out_of_resources(int error) noexcept {
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

// How long accepting pauses when the process or the system is out of descriptors or memory:
// the connections already open go on meanwhile (asyncio waits as long).
inline constexpr std::chrono::seconds accept_pause{1};

// Starts a handler task for each connection the accept loop hands over; one that cannot be
// set up (epoll refuses it, memory runs out) is reported and closed, and the next comes.
template <class Stream, class Handler>
class connection_starter final : public accept_sink {
public:
    connection_starter(std::shared_ptr<server_state> state,
                       std::shared_ptr<Handler> handler,
                       std::size_t limit,
                       loop_core& core) noexcept
        : state_(std::move(state)), handler_(std::move(handler)), limit_(limit), core_(&core) {}

    void accepted(unique_fd connection) noexcept override {
        // A multishot accept may still deliver while the server or the loop closes.
        if (state_->closed || core_->closing())
            return;
        try {
            start_server_task(
                state_,
                serve_connection(handler_, (*handler_)(Stream(std::move(connection), {limit_}))));
        } catch (...) {
            report("Cannot serve a connection a server accepted");
        }
    }

private:
    std::shared_ptr<server_state> state_;
    std::shared_ptr<Handler> handler_;
    std::size_t limit_;
    loop_core* core_;
};

template <class Stream, class Handler>
task<> accept_connections(std::shared_ptr<server_state> state,
                          std::shared_ptr<Handler> handler,
                          unique_fd listener,
                          std::size_t limit) {
    loop_core& core = running_core();
    const endpoint address = socket_name(listener.get(), ::getsockname);
    connection_starter<Stream, Handler> starter(state, std::move(handler), limit, core);
    bool multishot = true;
    for (;;) {
        bool pause = false;
        try {
            co_await io_awaiter<accept_many_op>(core,
                                                accept_many_op(listener.get(), starter, multishot));
        } catch (const std::system_error& e) {
            const int error = e.code().value();
            if (error == EINVAL && multishot) {
                multishot = false; // a kernel before 5.19
            } else if (out_of_resources(error)) {
                report("accept on " + address.to_string() +
                       " is out of resources; accepting again in 1 s");
                pause = true;
            } else if (!connection_error(error)) {
                report("accept on " + address.to_string() + " failed; this socket stops");
                co_return;
            }
        }
        if (pause)
            co_await sleep(accept_pause);
    }
}

inline void set_option(int fd, int level, int name, const endpoint& address) {
    const int on = 1;
    if (::setsockopt(fd, level, name, &on, sizeof on) < 0)
        sys::throw_error(errno, "corio: cannot listen on " + address.to_string());
}

// A listening socket bound to `address`.
inline unique_fd listen_on(const endpoint& address, const server_options& options) {
    unique_fd fd = open_socket(address.family(), SOCK_STREAM);
    if (address.family() != AF_UNIX) {
        set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, address);
        if (options.reuse_port)
            set_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, address);
    }
    if (address.family() == AF_INET6)
        set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, address);
    if (::bind(fd.get(), address.data(), address.size()) < 0 ||
        ::listen(fd.get(), options.backlog) < 0)
        sys::throw_error(errno, "corio: cannot listen on " + address.to_string());
    return fd;
}

struct server_access;

} // namespace detail

/// Listening sockets and the tasks serving their connections, one per connection, each
/// running the handler with its stream. Unlike asyncio, close() ends the connections too: the
/// server owns its handler tasks as a task_group does (structured), and wait_closed()
/// returns once they are all done. Destroying an open server closes it.
/// An AsyncResource: `with(srv, body)` closes it and waits for its tasks after the body.
/// Thread safety: the loop's thread only.
class server {
public:
    server(server&&) noexcept = default;
    server& operator=(server&& other) noexcept {
        if (this != &other) {
            close();
            state_ = std::move(other.state_);
            port_ = other.port_;
        }
        return *this;
    }
    ~server() { close(); }

    /// The port the server listens on (the one the kernel picked for port 0); 0 for a Unix
    /// server. It keeps its value after close().
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    /// The addresses it listens on; empty after close(). asyncio: `Server.sockets`.
    [[nodiscard]] std::vector<endpoint> sockets() const {
        return state_ ? state_->sockets : std::vector<endpoint>();
    }

    /// True until close(). asyncio: `Server.is_serving()`.
    [[nodiscard]] bool is_serving() const noexcept { return state_ && !state_->closed; }

    /// Stops listening at once and cancels every connection's handler task; a handler may
    /// catch the cancellation to say goodbye. Idempotent. asyncio: `Server.close()`, which
    /// leaves the connections open.
    void close() noexcept {
        if (state_)
            state_->close();
    }

    /// Returns once the server is closed and every handler task has finished (its stream is
    /// closed). asyncio: `await Server.wait_closed()`.
    [[nodiscard]] task<> wait_closed() { return wait_finished(state_); }

    /// Serves until the server is closed. Cancelled, it closes the server, waits as
    /// wait_closed() does, and rethrows. asyncio: `await Server.serve_forever()`.
    [[nodiscard]] task<> serve_forever() { return serve(state_); }

    detail::ready<server&> aenter() noexcept { return detail::ready<server&>(*this); }
    [[nodiscard]] task<> aexit(const std::exception_ptr&) {
        close();
        return wait_closed();
    }

private:
    friend struct detail::server_access;
    using state_ptr = std::shared_ptr<detail::server_state>;

    server(state_ptr state, std::uint16_t port) noexcept : state_(std::move(state)), port_(port) {}

    static task<> wait_finished(state_ptr state) {
        if (state)
            co_await state->finished.wait();
    }

    static task<> serve(state_ptr state) {
        if (!state)
            co_return;
        std::exception_ptr cancelled;
        try {
            co_await state->finished.wait();
        } catch (const cancelled_error&) {
            cancelled = std::current_exception();
        }
        if (!cancelled)
            co_return;
        state->close();
        while (!state->finished.is_set()) { // not cut short by a second cancellation
            try {
                co_await state->finished.wait();
            } catch (const cancelled_error&) {
            }
        }
        std::rethrow_exception(cancelled);
    }

    state_ptr state_;
    std::uint16_t port_ = 0;
};

namespace detail {

struct server_access {
    // A server on `listeners`, each with an accept loop handing connections to `handler`.
    template <class Stream, class Handler>
    static server serve(Handler handler,
                        std::vector<unique_fd> listeners,
                        std::size_t limit,
                        std::string socket_file = {},
                        ino_t socket_inode = 0) {
        auto state = std::make_shared<server_state>();
        state->socket_file = std::move(socket_file);
        state->socket_inode = socket_inode;
        auto shared_handler = std::make_shared<Handler>(std::move(handler));
        for (const unique_fd& l : listeners)
            state->sockets.push_back(socket_name(l.get(), ::getsockname));
        const std::uint16_t port =
            state->sockets.front().family() == AF_UNIX ? 0 : state->sockets.front().port();
        server result(state, port);
        for (unique_fd& l : listeners)
            start_server_task(
                state,
                accept_connections<Stream, Handler>(state, shared_handler, std::move(l), limit));
        return result;
    }
};

// Where a TCP server listens: every address `host` resolves to; all IPv4 and IPv6 ones for
// an empty host.
inline task<std::vector<endpoint>> listen_addresses(std::string host, std::uint16_t port) {
    if (host.empty())
        co_return std::vector<endpoint>{endpoint("0.0.0.0", port), endpoint("::", port)};
    std::vector<endpoint> found = co_await resolve(host, port);
    std::vector<endpoint> unique;
    for (const endpoint& e : found)
        if (std::find(unique.begin(), unique.end(), e) == unique.end())
            unique.push_back(e);
    co_return unique;
}

template <class Handler>
task<server>
start_tcp_server(Handler handler, std::string host, std::uint16_t port, server_options options) {
    std::vector<unique_fd> listeners;
    for (endpoint address : co_await listen_addresses(host, port)) {
        // Port 0: the kernel picks one for the first socket, and the others take the same.
        if (port == 0 && !listeners.empty())
            address = endpoint(address.address(),
                               socket_name(listeners.front().get(), ::getsockname).port());
        try {
            listeners.push_back(listen_on(address, options));
        } catch (const std::system_error& e) {
            // No IPv6 on this machine: an empty host listens on IPv4 alone.
            if (!(host.empty() && address.family() == AF_INET6 &&
                  e.code() == std::errc::address_family_not_supported))
                throw;
        }
    }
    co_return server_access::serve<tcp_stream>(
        std::move(handler), std::move(listeners), options.limit);
}

template <class Handler>
task<server>
start_unix(Handler handler, endpoint address, std::string path, server_options options) {
    const bool file = path.front() != '\0';
    struct stat before {};
    if (file && ::stat(path.c_str(), &before) == 0 && S_ISSOCK(before.st_mode))
        ::unlink(path.c_str()); // a stale socket from an earlier run
    std::vector<unique_fd> listeners;
    listeners.push_back(listen_on(address, options));
    struct stat bound {};
    if (file && ::stat(path.c_str(), &bound) < 0)
        bound.st_ino = 0;
    co_return server_access::serve<unix_stream>(std::move(handler),
                                                std::move(listeners),
                                                options.limit,
                                                file ? path : std::string(),
                                                bound.st_ino);
}

// handler(stream) -> task<>, kept by the server.
template <class Handler, class Stream>
concept stream_handler = std::move_constructible<Handler> && std::invocable<Handler&, Stream> &&
    std::same_as<std::invoke_result_t<Handler&, Stream>, task<>>;

} // namespace detail

/// Listens on `host` (a name listens on every address it resolves to; "" on all IPv4 and
/// IPv6 addresses; IPv6 sockets are IPV6_V6ONLY) at `port` (0: the kernel picks one, and
/// every socket takes the same) and runs `handler(tcp_stream)`, a coroutine returning
/// task<>, in a task of its own for each connection. The server keeps its copy of `handler`
/// until every handler task has finished. SO_REUSEADDR is always set; reuse_port sets
/// SO_REUSEPORT. A handler that returns closes its connection; one that throws closes only
/// its connection, and the loop's exception handler gets the exception and the task.
/// When accept runs out of descriptors or memory, the exception handler hears of it and
/// accepting pauses for 1 s while open connections go on. asyncio: `await
/// asyncio.start_server(handler, host, port, limit=..., backlog=..., reuse_port=...)`.
/// Throws (when awaited): what resolve throws; `std::system_error` naming the address when a
/// socket cannot listen (address_in_use).
template <class Handler>
requires detail::stream_handler<Handler, tcp_stream>
[[nodiscard]] task<server> start_server(Handler handler,
                                        std::string_view host,
                                        std::uint16_t port,
                                        server_options options = {}) {
    return detail::start_tcp_server(std::move(handler), std::string(host), port, options);
}

/// start_server on the Unix-domain socket `path` (a leading '\0': the abstract namespace),
/// running `handler(unix_stream)`. A stale socket file at `path` is removed first, and
/// close() removes the one the server made. asyncio: `await
/// asyncio.start_unix_server(handler, path)` (3.13's cleanup_socket).
/// Throws: `std::invalid_argument` for a path that is empty or too long; when awaited,
/// `std::system_error` naming the path.
template <class Handler>
requires detail::stream_handler<Handler, unix_stream>
[[nodiscard]] task<server>
start_unix_server(Handler handler, std::string_view path, server_options options = {}) {
    return detail::start_unix(
        std::move(handler), endpoint::unix_path(path), std::string(path), options);
}

} // namespace corio
