// SPDX-License-Identifier: MIT
// corio/detail/call_site.hpp: call_site, where a coroutine function is defined, which every
// task frame records for dump_tasks.
// Layer L0.
#pragma once

#include <cstddef>
#include <string_view>
#include <version>

#ifdef __cpp_lib_source_location
#include <source_location>
#endif

namespace corio::detail {

/// The bare name of the function in a compiler's pretty signature, as __builtin_FUNCTION gives
/// it: "outer" from "corio::task<> ns::outer(int) [with T = int]", "run" from
/// "corio::task<> S<T>::run() const". A lambda is "<lambda()>" (GCC) or "operator()" (clang).
constexpr std::string_view bare_function_name(std::string_view pretty) noexcept {
    pretty = pretty.substr(0, pretty.find(" [")); // the template arguments, if listed
    const std::size_t close = pretty.rfind(')');
    if (close == std::string_view::npos || pretty.ends_with('>')) { // none, or a lambda
        const std::size_t scope = pretty.rfind("::");
        return scope == std::string_view::npos ? pretty : pretty.substr(scope + 2);
    }
    std::size_t open = close; // the parameter list's own '(', past any nested in it
    for (int depth = 0; open > 0; --open) {
        depth += pretty[open] == ')' ? 1 : pretty[open] == '(' ? -1 : 0;
        if (depth == 0)
            break;
    }
    std::size_t start = open; // back over the name to the scope or return type before it
    for (int depth = 0; start > 0; --start) {
        const char c = pretty[start - 1];
        depth += c == '>' ? 1 : c == '<' && depth > 0 ? -1 : 0;
        if (depth == 0 && (c == ' ' || (c == ':' && start >= 2 && pretty[start - 2] == ':')))
            break;
    }
    return pretty.substr(start, open - start);
}

#ifdef __cpp_lib_source_location

/// Where a coroutine function is defined. One pointer, as every task frame carries one.
class call_site {
public:
    explicit call_site(const std::source_location& where) noexcept : where_(where) {}

    [[nodiscard]] std::string_view function() const noexcept {
        return bare_function_name(where_.function_name());
    }
    [[nodiscard]] const char* file() const noexcept { return where_.file_name(); }
    [[nodiscard]] unsigned line() const noexcept { return where_.line(); }

private:
    std::source_location where_;
};

// The parameters of a promise constructor that record the coroutine function it is built in.
#define CORIO_CALL_SITE_PARAMETERS                                                                 \
    const std::source_location& where = std::source_location::current()
#define CORIO_CALL_SITE_ARGUMENTS where

#else // a compiler without __builtin_source_location (clang 14): three words

class call_site {
public:
    call_site(const char* function, const char* file, unsigned line) noexcept
        : function_(function), file_(file), line_(line) {}

    [[nodiscard]] std::string_view function() const noexcept { return function_; }
    [[nodiscard]] const char* file() const noexcept { return file_; }
    [[nodiscard]] unsigned line() const noexcept { return line_; }

private:
    const char* function_;
    const char* file_;
    unsigned line_;
};

#define CORIO_CALL_SITE_PARAMETERS                                                                 \
    const char *function = __builtin_FUNCTION(), const char *file = __builtin_FILE(),              \
               unsigned line = __builtin_LINE()
#define CORIO_CALL_SITE_ARGUMENTS function, file, line

#endif

} // namespace corio::detail
