// SPDX-License-Identifier: MIT
// corio/net/socket_stream.hpp: socket_stream, a connected stream socket read through a buffer
// and written without one (asyncio's StreamReader and StreamWriter as one object): what
// tcp_stream and unix_stream share; and connection_options.
// Layer L5.
#pragma once

#include <corio/errors.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/task.hpp>
#include <corio/unique_fd.hpp>

#include <corio/detail/io_awaiter.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/owned_io.hpp>
#include <corio/detail/socket.hpp>
#include <corio/detail/socket_ops.hpp>
#include <corio/detail/stream_buffer.hpp>
#include <corio/detail/wait_queue.hpp>

#include <algorithm>
#include <cerrno>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <sys/socket.h>

namespace corio {

/// How open_connection and open_unix_connection set up their stream. asyncio: the `limit`
/// argument of `open_connection`.
struct connection_options {
    /// The longest line (or data before a read_until delimiter) the stream accepts; it buffers
    /// at most twice this many unread bytes.
    std::size_t limit = 65536;
};

namespace detail {

// The stream's own receive and send: their results come back as they are, since the stream
// turns them into end of stream, remembered errors or invalid_state_error itself.
// A receive that finds the socket drained (would block, or fewer bytes than asked: a stream
// socket hands over all it has) says so to the attachment, so the next one waits for the
// backend's report instead of trying in vain first.
class stream_recv_op final : public recv_op {
public:
    stream_recv_op(int fd, fd_attachment& attachment, std::span<std::byte> buffer) noexcept
        : recv_op(fd, buffer, "stream read"), attachment_(&attachment),
          asked_(std::min(buffer.size(), max_transfer)) {}

    [[nodiscard]] bool may_be_ready() const noexcept { return attachment_->may_be_readable(); }
    int perform() noexcept {
        const int result = recv_op::perform();
        if (result == -EAGAIN || (result >= 0 && static_cast<std::size_t>(result) < asked_))
            attachment_->drained();
        return result;
    }
    static int finish(int result) noexcept { return result; }

private:
    fd_attachment* attachment_;
    std::size_t asked_;
};

class stream_send_op final : public sendall_op {
public:
    stream_send_op(int fd, std::span<const std::byte> data) noexcept
        : sendall_op(fd, data, "stream write") {}
    static int finish(int result) noexcept { return result; }
};

// A wait that cannot be cancelled: close() returns only once the stream's operations have let
// go; a cancellation meanwhile comes at the task's next suspension.
class stream_idle_waiter final : public queued_waiter {
public:
    explicit stream_idle_waiter(wait_queue<stream_idle_waiter>& queue)
        : queued_waiter(running_core()), queue_(&queue) {}

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        queue_->push_back(*this);
        wait();
    }
    void await_resume() { resumed(); }

    void describe(std::ostream& out) const override {
        describe_as(out, "stream: waiting for its read or write to end");
    }

private:
    cancel_answer stop() noexcept override { return cancel_answer::too_late; }
    bool give_back() noexcept override { return false; }

    wait_queue<stream_idle_waiter>* queue_;
};

// What the stream's operations share with it. It outlives the stream object while an
// operation runs (destroying a stream closes its socket without waiting), so the operations'
// coroutines hold it, never the stream.
struct stream_state {
    stream_state(unique_fd socket, std::size_t buffer_limit)
        : fd(std::move(socket)), limit(buffer_limit), local(socket_name(fd.get(), ::getsockname)),
          remote(socket_name(fd.get(), ::getpeername)) {
        if (loop_core* core = running_core_slot())
            attachment.attach(core->backend(), fd.get());
    }

    // The most a receive asks for at once.
    static constexpr std::size_t receive_size = 64 * 1024;

    unique_fd fd;
    fd_attachment attachment; // released before the fd closes
    std::size_t limit;
    stream_buffer buffer;
    endpoint local;
    endpoint remote;
    owned_io_list in_flight;
    wait_queue<stream_idle_waiter> idle_waiters;
    std::error_code error; // a failure met once: every later read and write throws it again
    bool reading = false;
    bool writing = false;
    bool eof = false;
    bool skipping_line = false; // readline refused a line whose end has not arrived yet
    bool write_shut = false;
    bool write_broken = false;
    bool closed = false;

    void check_open(const char* what) const {
        if (closed)
            throw invalid_state_error(std::string("corio: ") + what + " on a closed stream");
    }
    [[noreturn]] void throw_error(const char* what) const {
        throw std::system_error(error,
                                std::string("corio: stream ") + what + " " + remote.to_string());
    }
    void check_readable() const {
        check_open("read");
        if (reading)
            throw invalid_state_error("corio: another task is reading this stream");
        if (error)
            throw_error("read from");
    }
    void check_writable() const {
        check_open("write");
        if (writing)
            throw invalid_state_error("corio: another task is writing to this stream");
        if (write_shut)
            throw invalid_state_error("corio: write after write_eof()");
        if (write_broken)
            throw invalid_state_error("corio: an earlier write was cancelled midway: the "
                                      "stream's write side is unusable");
        if (error)
            throw_error("write to");
    }

    // A receive's result as a byte count: 0 at end of stream, and once the stream is closed.
    // A failure is remembered and thrown.
    std::size_t received(int result) {
        if (result > 0)
            return static_cast<std::size_t>(result);
        if (result == 0)
            eof = true;
        else if (!closed) {
            error = std::error_code(-result, std::generic_category());
            throw_error("read from");
        }
        return 0;
    }

    // The next receive into the buffer, for at most `want` bytes.
    owned_io<stream_recv_op> receive_into_buffer(std::size_t want) {
        return {stream_recv_op(fd.get(), attachment, buffer.space(std::min(want, receive_size))),
                in_flight};
    }

    // How much a buffered read may ask for: up to twice the limit is kept unread.
    [[nodiscard]] std::size_t room() const noexcept {
        const std::size_t most = 2 * limit;
        return most > buffer.size() ? most - buffer.size() : 1;
    }

    // Wakes close() and write_eof(), which look again at what they wait for.
    void operation_ended() noexcept {
        while (stream_idle_waiter* w = idle_waiters.pop_front())
            w->grant();
    }
};

// Marks the stream as read (or written) for one operation, so that a second one at the same
// time is refused and close() knows when the stream is idle.
class operation_scope {
public:
    operation_scope(stream_state& state, bool stream_state::*flag) noexcept
        : state_(state), flag_(flag) {
        state_.*flag_ = true;
    }
    operation_scope(const operation_scope&) = delete;
    operation_scope& operator=(const operation_scope&) = delete;
    ~operation_scope() {
        state_.*flag_ = false;
        state_.operation_ended();
    }

private:
    stream_state& state_;
    bool stream_state::*flag_;
};

} // namespace detail

/// A connected stream socket with a read buffer: the reads and writes of asyncio's
/// StreamReader and StreamWriter, as one move-only object. tcp_stream and unix_stream are
/// socket_streams; a server hands one to each connection's handler.
/// One task may read while another writes; a second read (or write) at the same time throws
/// `invalid_state_error`. Thread safety: the loop's thread only.
class socket_stream {
public:
    /// Adopts a connected, non-blocking stream socket. `limit` as connection_options::limit.
    /// Throws: `std::invalid_argument` for an empty fd or a limit of 0.
    explicit socket_stream(unique_fd socket, connection_options options = {})
        : state_(make_state(std::move(socket), options.limit)) {}
    socket_stream(socket_stream&&) noexcept = default;
    socket_stream& operator=(socket_stream&& other) noexcept {
        if (this != &other) {
            abandon();
            state_ = std::move(other.state_);
        }
        return *this;
    }
    /// Closes the socket without waiting; a read or write still running in another task ends
    /// as after close().
    ~socket_stream() { abandon(); }

    /// Up to `n` bytes: waits until at least one is buffered, then returns what there is, up
    /// to n, without waiting for more; "" at end of stream, and at once for n == 0.
    /// asyncio: `await reader.read(n)`.
    /// Cancellation: bytes that arrived before the cancellation took effect are returned, and
    /// the cancellation comes at the task's next suspension.
    /// Throws: `std::system_error` for a failure (connection_reset), also every time after
    /// the first; `invalid_state_error` after close() or while another task reads.
    [[nodiscard]] task<std::string> read(std::size_t n) { return read_up_to(shared(), n); }

    /// read(n) into `into`: the byte count, 0 at end of stream or for an empty span. Bytes
    /// that are not buffered go straight from the socket into `into`.
    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> into) {
        return read_into(shared(), into);
    }

    /// Exactly `n` bytes. asyncio: `await reader.readexactly(n)`.
    /// Throws: `incomplete_read_error` at end of stream, with the bytes before it; on
    /// cancellation, cancelled_error with every byte received kept for the next read.
    [[nodiscard]] task<std::string> read_exactly(std::size_t n) {
        return read_exactly_from(shared(), n);
    }

    /// The bytes up to and including the first `delim` (one or more bytes).
    /// asyncio: `await reader.readuntil(delim)`.
    /// Throws: `limit_overrun_error` when `delim` starts past `limit` bytes or `limit` bytes
    /// are buffered without one (the data stays buffered); `incomplete_read_error` at end of
    /// stream, with the rest; `std::invalid_argument` for an empty delimiter. Cancellation
    /// keeps every byte received for the next read.
    [[nodiscard]] task<std::string> read_until(std::string_view delim) {
        if (delim.empty())
            throw std::invalid_argument("corio: read_until with an empty delimiter");
        return read_until_from(shared(), std::string(delim), false);
    }

    /// One line, with its '\n'; at end of stream the unterminated rest, then "".
    /// asyncio: `await reader.readline()`.
    /// Throws: `limit_overrun_error` for a line longer than `limit`, which is discarded.
    [[nodiscard]] task<std::string> readline() { return read_until_from(shared(), "\n", true); }

    /// Sends every byte: completes when the kernel has taken them all (asyncio's
    /// `writer.write(data)` and `await writer.drain()`: the kernel's buffer is the only
    /// queue, so a slow reader slows the writer). The bytes are borrowed until it completes.
    /// Cancellation: a write cancelled before the kernel took a byte leaves the stream as it
    /// was; one cancelled midway leaves its write side unusable (invalid_state_error).
    /// Throws: `std::system_error` (broken_pipe, connection_reset; never SIGPIPE);
    /// `invalid_state_error` after close() or write_eof(), or while another task writes.
    [[nodiscard]] task<> write(std::span<const std::byte> data) { return write_to(shared(), data); }
    [[nodiscard]] task<> write(std::string_view data) {
        return write(std::as_bytes(std::span(data.data(), data.size())));
    }
    /// A temporary string is kept by the write until it completes, so that
    /// `spawn(s.write(make_text()))` does not send freed bytes.
    template <class String>
    requires std::same_as<String, std::string>
    [[nodiscard]] task<> write(String&& data) { return write_owned(shared(), std::move(data)); }

    /// Sends end of stream (FIN) once a write still running has completed; reading goes on
    /// (half-close). A second call does nothing. asyncio: `writer.write_eof()`.
    [[nodiscard]] task<> write_eof() { return shut_write(shared()); }

    /// Ends a pending read (it returns end of stream) and a pending write (it throws
    /// invalid_state_error), waits until they have let go of their buffers, then closes the
    /// socket. Never throws; a cancellation meanwhile comes at the task's next suspension.
    /// Later reads and writes throw `invalid_state_error`. asyncio: `writer.close()` and
    /// `await writer.wait_closed()`.
    [[nodiscard]] task<> close() { return close_state(state_); }

    /// The addresses of this end and of the peer; they keep their values after close().
    [[nodiscard]] const endpoint& local_endpoint() const { return state().local; }
    [[nodiscard]] const endpoint& remote_endpoint() const { return state().remote; }

    /// The socket, for options corio has no call for; it stays the stream's.
    [[nodiscard]] int native_handle() const { return state().fd.get(); }

protected:
    [[nodiscard]] detail::stream_state& state() const {
        if (!state_)
            throw invalid_state_error("corio: use of a moved-from stream");
        return *state_;
    }

private:
    using state_ptr = std::shared_ptr<detail::stream_state>;

    static state_ptr make_state(unique_fd socket, std::size_t limit) {
        if (!socket)
            throw std::invalid_argument("corio: socket_stream needs an open socket");
        if (limit == 0)
            throw std::invalid_argument("corio: a stream's limit must be at least 1 byte");
        return std::make_shared<detail::stream_state>(std::move(socket), limit);
    }

    // The state, shared with the operation about to start: it may outlive the stream.
    state_ptr shared() const {
        static_cast<void>(state()); // throws for a moved-from stream
        return state_;
    }

    // Destruction (or being moved onto): operations still running are ended and the socket
    // is closed at once; the kernel keeps a file an io_uring operation holds until it ends.
    void abandon() noexcept {
        if (!state_ || state_->closed)
            return;
        state_->closed = true;
        state_->in_flight.abort_all();
        state_->attachment.release();
        state_->fd.reset();
    }

    static task<std::string> read_up_to(state_ptr keep, std::size_t n) {
        detail::stream_state& s = *keep;
        s.check_readable();
        if (n == 0)
            co_return std::string();
        detail::operation_scope reading(s, &detail::stream_state::reading);
        if (s.buffer.empty() && !s.eof)
            s.buffer.commit(s.received(co_await s.receive_into_buffer(s.room())));
        co_return s.buffer.take(n);
    }

    static task<std::size_t> read_into(state_ptr keep, std::span<std::byte> into) {
        detail::stream_state& s = *keep;
        s.check_readable();
        if (into.empty())
            co_return 0;
        detail::operation_scope reading(s, &detail::stream_state::reading);
        if (!s.buffer.empty())
            co_return s.buffer.take_into(into);
        if (s.eof)
            co_return 0;
        co_return s.received(co_await detail::owned_io<detail::stream_recv_op>(
            detail::stream_recv_op(s.fd.get(), s.attachment, into), s.in_flight));
    }

    static task<std::string> read_exactly_from(state_ptr keep, std::size_t n) {
        detail::stream_state& s = *keep;
        s.check_readable();
        detail::operation_scope reading(s, &detail::stream_state::reading);
        // The caller asked for n bytes: the buffer may grow to hold them, whatever the limit.
        while (s.buffer.size() < n && !s.eof && !s.closed)
            s.buffer.commit(s.received(co_await s.receive_into_buffer(n - s.buffer.size())));
        if (s.buffer.size() < n)
            throw incomplete_read_error(s.buffer.take(s.buffer.size()), n);
        co_return s.buffer.take(n);
    }

    // asyncio's readuntil, and readline when `line`: a line past the limit is dropped.
    static task<std::string> read_until_from(state_ptr keep, std::string delim, bool line) {
        detail::stream_state& s = *keep;
        s.check_readable();
        detail::operation_scope reading(s, &detail::stream_state::reading);
        if (line && s.skipping_line)
            co_await skip_line(s);
        std::size_t from = 0; // where the delimiter may start: before is searched already
        std::size_t found = std::string_view::npos;
        while ((found = s.buffer.view().find(delim, from)) == std::string_view::npos) {
            if (s.buffer.size() >= delim.size()) {
                from = s.buffer.size() + 1 - delim.size();
                if (from > s.limit)
                    overrun(s, delim, line, "not found within");
            }
            if (s.eof || s.closed) {
                std::string rest = s.buffer.take(s.buffer.size());
                if (line)
                    co_return rest;
                throw incomplete_read_error(std::move(rest), std::nullopt);
            }
            s.buffer.commit(s.received(co_await s.receive_into_buffer(s.room())));
        }
        if (found > s.limit)
            overrun(s, delim, line, "found past");
        co_return s.buffer.take(found + delim.size());
    }

    // readline drops the over-long line: up to its '\n' when that is buffered; else all there
    // is now, and the next readline drops the rest of the line before it reads.
    [[noreturn]] static void
    overrun(detail::stream_state& s, std::string_view delim, bool line, const char* where) {
        if (line) {
            const std::size_t end = s.buffer.view().find(delim);
            s.skipping_line = end == std::string_view::npos;
            s.buffer.consume(s.skipping_line ? s.buffer.size() : end + delim.size());
        }
        throw limit_overrun_error("corio: delimiter " + std::string(where) + " the limit of " +
                                  std::to_string(s.limit) + " bytes");
    }

    // The rest of a line readline refused: received and dropped, up to its '\n'.
    static task<> skip_line(detail::stream_state& s) {
        for (;;) {
            const std::size_t end = s.buffer.view().find('\n');
            if (end != std::string_view::npos) {
                s.buffer.consume(end + 1);
                break;
            }
            s.buffer.consume(s.buffer.size());
            if (s.eof || s.closed)
                break;
            s.buffer.commit(s.received(co_await s.receive_into_buffer(s.room())));
        }
        s.skipping_line = false;
    }

    static task<> write_to(state_ptr keep, std::span<const std::byte> data) {
        detail::stream_state& s = *keep;
        s.check_writable();
        if (data.empty())
            co_return;
        detail::operation_scope writing(s, &detail::stream_state::writing);
        detail::owned_io<detail::stream_send_op> send(detail::stream_send_op(s.fd.get(), data),
                                                      s.in_flight);
        int result = 0;
        try {
            result = co_await send;
        } catch (const cancelled_error&) {
            if (send.operation().sent() > 0)
                s.write_broken = true;
            throw;
        }
        if (result >= 0)
            co_return;
        if (s.closed)
            throw invalid_state_error("corio: the stream was closed during a write");
        s.error = std::error_code(-result, std::generic_category());
        s.throw_error("write to");
    }

    static task<> write_owned(state_ptr keep, std::string data) {
        co_await write_to(std::move(keep), std::as_bytes(std::span(data)));
    }

    static task<> shut_write(state_ptr keep) {
        detail::stream_state& s = *keep;
        s.check_open("write_eof");
        if (s.write_shut)
            co_return;
        while (s.writing)
            co_await detail::stream_idle_waiter(s.idle_waiters);
        s.check_open("write_eof");
        if (s.write_broken)
            throw invalid_state_error("corio: write_eof after a write cancelled midway");
        s.write_shut = true;
        if (::shutdown(s.fd.get(), SHUT_WR) < 0 && errno != ENOTCONN)
            throw std::system_error(errno, std::generic_category(), "corio: write_eof");
    }

    static task<> close_state(state_ptr s) {
        if (!s || s->closed)
            co_return;
        s->closed = true;
        s->in_flight.abort_all();
        while (s->reading || s->writing)
            co_await detail::stream_idle_waiter(s->idle_waiters);
        s->attachment.release();
        s->fd.reset();
    }

    state_ptr state_;
};

} // namespace corio
