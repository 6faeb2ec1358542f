#!/bin/sh
# Builds and runs the consumer project beside this script against corio used one way:
#   find_package      corio installed into a prefix, found through CMAKE_PREFIX_PATH
#   add_subdirectory  corio's source tree added as a subproject
#   pkg_config        corio installed into a prefix, main.cpp compiled with corio.pc's flags
#   minimal_install   as find_package, corio configured without tests, examples and bench:
#                     installing it must not look for Catch2 or fmt
# usage: check.sh <mode> <corio-source-dir> <work-dir> <c++ compiler>
# The consumer gets the compiler only, none of the calling build's flags (sanitizers among
# them). $CMAKE names the cmake to run (default: cmake on PATH). <work-dir> is wiped first.
set -eux
mode=$1 src=$2 work=$3 cxx=$4
cmake=${CMAKE:-cmake}
consumer=$src/tests/consumer

rm -rf "$work"
mkdir -p "$work"

# A fresh configure of the source with the prefix set, as a packager does: the .pc records
# the configured prefix, so installing this build tree elsewhere with --prefix would not do.
# Arguments are more options for the configure.
install_corio() {
    "$cmake" -S "$src" -B "$work/corio" -DCMAKE_CXX_COMPILER="$cxx" \
        -DCMAKE_INSTALL_PREFIX="$work/prefix" "$@"
    "$cmake" --install "$work/corio"
}

build_consumer_find_package() {
    "$cmake" -S "$consumer" -B "$work/build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$work/prefix"
    # A corio installed elsewhere on the machine must not stand in for this one.
    grep -F "corio_DIR:PATH=$work/prefix/" "$work/build/CMakeCache.txt"
    "$cmake" --build "$work/build"
    "$work/build/consumer"
}

case $mode in
find_package)
    install_corio
    build_consumer_find_package
    ;;
add_subdirectory)
    "$cmake" -S "$consumer" -B "$work/build" -DCMAKE_CXX_COMPILER="$cxx" -DCORIO_SOURCE_DIR="$src"
    "$cmake" --build "$work/build"
    "$work/build/consumer"
    # A subproject corio must leave the parent's cache alone: a BUILD_TESTING=OFF there would
    # outlive the parent's include(CTest).
    if grep -E '^(BUILD_TESTING|CORIO_BUILD_[A-Z]+):' "$work/build/CMakeCache.txt"; then
        echo "check.sh: a subproject corio left options in the parent's cache" >&2
        exit 1
    fi
    # The parent's install must not pick up corio's headers and package files.
    "$cmake" --install "$work/build" --prefix "$work/stray"
    test ! -e "$work/stray"
    ;;
pkg_config)
    install_corio
    libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$work/corio/CMakeCache.txt")
    # PKG_CONFIG_LIBDIR, not PKG_CONFIG_PATH: only this prefix is searched.
    flags=$(PKG_CONFIG_LIBDIR="$work/prefix/$libdir/pkgconfig" PKG_CONFIG_PATH='' pkg-config --cflags --libs corio)
    # shellcheck disable=SC2086 # $flags is a list of options
    "$cxx" -Wall -Wextra -Wpedantic -Werror -o "$work/consumer" "$consumer/main.cpp" $flags
    "$work/consumer"
    ;;
minimal_install)
    # A packager's machine may have a compiler and CMake only.
    install_corio -DBUILD_TESTING=OFF -DCORIO_BUILD_EXAMPLES=OFF -DCORIO_BUILD_BENCH=OFF
    if grep -E '^(Catch2|fmt)_DIR:' "$work/corio/CMakeCache.txt"; then
        echo "check.sh: installing corio looked for a test dependency" >&2
        exit 1
    fi
    libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$work/corio/CMakeCache.txt")
    test -f "$work/prefix/include/corio/corio.hpp"
    for f in corioConfig.cmake corioConfigVersion.cmake corioTargets.cmake; do
        test -f "$work/prefix/$libdir/cmake/corio/$f"
    done
    build_consumer_find_package
    ;;
*)
    echo "check.sh: unknown mode '$mode'" >&2
    exit 2
    ;;
esac
