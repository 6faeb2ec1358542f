// SPDX-License-Identifier: MIT
// corio/detail/backend/select.hpp: make_backend, which turns loop_options into a backend.
// Layer L3.
#pragma once

#include <corio/loop_options.hpp>

#include <corio/detail/backend/epoll.hpp>
#include <corio/detail/sys.hpp>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace corio::detail {

/// `CORIO_BACKEND`, read each time a loop is created; it only overrides `automatic`.
inline backend backend_from_environment() {
    const char* value = std::getenv("CORIO_BACKEND");
    if (value == nullptr || *value == '\0')
        return backend::automatic;
    std::string_view name = value;
    if (name == "epoll")
        return backend::epoll;
    if (name == "io_uring")
        return backend::io_uring;
    throw std::invalid_argument("corio: CORIO_BACKEND must be 'epoll' or 'io_uring', not '" +
                                std::string(name) + "'");
}

inline std::unique_ptr<io_backend> make_backend(backend requested) {
    if (requested == backend::automatic)
        requested = backend_from_environment();
    switch (requested) {
    case backend::io_uring:
        sys::throw_error(ENOSYS, "corio: the io_uring backend is not part of this build");
    case backend::automatic:
    case backend::epoll:
        break;
    }
    return std::make_unique<epoll_backend>();
}

} // namespace corio::detail
