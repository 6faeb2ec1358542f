// SPDX-License-Identifier: MIT
// example_options: the command-line flags of the network examples ("--name value" pairs).
#pragma once

#include <corio/corio.hpp>

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

class example_options {
public:
    /// Reads "--flag value" pairs; a flag not in `known`, or one without a value, throws
    /// std::invalid_argument naming it.
    example_options(int argc, char** argv, std::initializer_list<std::string_view> known) {
        for (int i = 1; i < argc; i += 2) {
            const std::string flag = argv[i];
            bool ok = false;
            for (std::string_view k : known)
                ok = ok || k == flag;
            if (!ok)
                throw std::invalid_argument("unknown option '" + flag + "'");
            if (i + 1 >= argc)
                throw std::invalid_argument("option '" + flag + "' needs a value");
            values_[flag] = argv[i + 1];
        }
    }

    [[nodiscard]] std::string get(const std::string& flag, std::string fallback) const {
        const auto it = values_.find(flag);
        return it == values_.end() ? fallback : it->second;
    }

    /// --port, 8888 by default; 0 lets the kernel pick one.
    [[nodiscard]] std::uint16_t port() const {
        const std::string text = get("--port", "8888");
        std::uint16_t port = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
        if (error != std::errc() || end != text.data() + text.size())
            throw std::invalid_argument("--port takes a number from 0 to 65535, not '" + text +
                                        "'");
        return port;
    }

    /// --backend epoll|io_uring; automatic by default.
    [[nodiscard]] corio::backend backend() const {
        const std::string name = get("--backend", "");
        if (name.empty())
            return corio::backend::automatic;
        if (name == "epoll")
            return corio::backend::epoll;
        if (name == "io_uring")
            return corio::backend::io_uring;
        throw std::invalid_argument("--backend takes epoll or io_uring, not '" + name + "'");
    }

private:
    std::map<std::string, std::string> values_;
};
