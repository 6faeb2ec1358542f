// SPDX-License-Identifier: MIT
// corio/detail/backend/select.hpp: make_backend, which turns loop_options into a backend.
// Layer L3.
#pragma once

#include <corio/loop_options.hpp>

#include <corio/detail/backend/epoll.hpp>
#include <corio/detail/backend/uring.hpp>
#include <corio/detail/sys.hpp>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

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

/// Why io_uring could not be set up, from the error io_uring_queue_init gave, in words a
/// user can act on.
inline std::string io_uring_refusal(int error) {
    std::string disabled;
    std::ifstream("/proc/sys/kernel/io_uring_disabled") >> disabled;
    if (disabled == "2")
        return "io_uring is disabled on this system (sysctl kernel.io_uring_disabled=2)";
    if (disabled == "1" && error == EPERM)
        return "io_uring is limited to the group kernel.io_uring_group "
               "(sysctl kernel.io_uring_disabled=1)";
    switch (error) {
    case EPERM:
    case ENOSYS:
        return "io_uring is refused here (a seccomp filter, as container runtimes install, or "
               "a kernel without it)";
    case ENOMEM:
        return "io_uring cannot lock the memory of its rings (RLIMIT_MEMLOCK)";
    default:
        return "io_uring cannot be set up";
    }
}

/// Builds an io_uring backend. Throws: `std::system_error` naming the reason it cannot.
inline std::unique_ptr<io_backend> make_io_uring_backend() {
#ifdef CORIO_HAS_IO_URING
    try {
        return std::make_unique<uring_backend>();
    } catch (const std::system_error& e) {
        const int error = e.code().value();
        sys::throw_error(error, "corio: " + io_uring_refusal(error));
    }
#else
    sys::throw_error(ENOSYS,
                     "corio: the io_uring backend is not part of this build (corio "
                     "was built without liburing)");
#endif
}

/// The backend `requested` names; automatic prefers io_uring and falls back to epoll,
/// silently, when io_uring cannot be had. `make_uring` is for tests that play a refusal.
inline std::unique_ptr<io_backend>
make_backend(backend requested,
             std::unique_ptr<io_backend> (*make_uring)() = make_io_uring_backend) {
    if (requested == backend::automatic)
        requested = backend_from_environment();
    switch (requested) {
    case backend::io_uring:
        return make_uring();
    case backend::automatic:
        try {
            return make_uring();
        } catch (const std::system_error&) {
            break; // epoll it is
        }
        break;
    case backend::epoll:
        break;
    }
    return std::make_unique<epoll_backend>();
}

} // namespace corio::detail
