// SPDX-License-Identifier: MIT
// chat_client: the tutorial's chat program, `corio::run(chat_loop())`. It joins a chat_server
// room under a name, sends each line typed on stdin, and prints what the others say. Stdin is
// read on the loop too, by waiting for it to be readable, so the program is one thread.
//
//   chat_client [--host 127.0.0.1] [--port 8888] --name NAME
//
// At the end of stdin it tells the server it is done (half-close) and prints what still
// comes until the server ends the connection.
#include <corio/corio.hpp>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <fmt/core.h>
#include <optional>
#include <string>
#include <system_error>
#include <unistd.h>

#include <sys/stat.h>

#include "options.hpp"

// Lines from a file descriptor that may be a terminal, a pipe or a regular file, without
// blocking the loop: it reads only once the fd is readable (a regular file always is).
class line_reader {
public:
    explicit line_reader(int fd) : fd_(fd) {
        struct stat st {};
        always_ready_ = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    }

    /// The next line with its '\n', the unterminated rest, or nothing at the end.
    corio::task<std::optional<std::string>> next() {
        for (;;) {
            if (const auto end = buffer_.find('\n'); end != std::string::npos) {
                std::string line = buffer_.substr(0, end + 1);
                buffer_.erase(0, end + 1);
                co_return line;
            }
            if (eof_)
                co_return buffer_.empty() ? std::nullopt
                                          : std::optional(std::exchange(buffer_, {}) + "\n");
            if (!always_ready_)
                co_await corio::wait_readable(fd_);
            fill();
        }
    }

private:
    void fill() {
        char chunk[4096];
        const ssize_t n = ::read(fd_, chunk, sizeof chunk);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            throw std::system_error(errno, std::generic_category(), "read from stdin");
        if (n == 0)
            eof_ = true;
        if (n > 0)
            buffer_.append(chunk, static_cast<std::size_t>(n));
    }

    int fd_;
    bool always_ready_ = false;
    bool eof_ = false;
    std::string buffer_;
};

corio::task<> send_typed_lines(corio::tcp_stream& server) {
    line_reader stdin_lines(STDIN_FILENO);
    while (std::optional<std::string> line = co_await stdin_lines.next())
        co_await server.write(*line);
    co_await server.write_eof(); // done talking; the room still talks to us
}

corio::task<> chat_loop(std::string host, std::uint16_t port, std::string name) {
    corio::tcp_stream server = co_await corio::open_connection(host, port);
    co_await server.write(name + "\n");
    auto typing = corio::spawn(send_typed_lines(server));
    for (std::string line; !(line = co_await server.readline()).empty();) {
        fmt::print("{}", line);
        std::fflush(stdout);
    }
    typing.cancel(); // the server ended the connection: stop reading stdin
    try {
        co_await typing;
    } catch (const corio::cancelled_error&) {
    }
}

int main(int argc, char** argv) {
    try {
        const example_options options(argc, argv, {"--host", "--port", "--name"});
        const std::string name = options.get("--name", "");
        if (name.empty())
            throw std::invalid_argument("--name NAME is required");
        corio::run(chat_loop(options.get("--host", "127.0.0.1"), options.port(), name));
        return 0;
    } catch (const corio::keyboard_interrupt&) {
        return 130;
    } catch (const std::exception& e) {
        fmt::print(stderr, "chat_client: {}\n", e.what());
        return 1;
    }
}
