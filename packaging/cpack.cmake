# CPack settings: `cpack -G DEB` in a build folder (or `cmake --workflow --preset package`) makes
# llm-thread-playground_<version>_<arch>.deb for Debian 12, installing under /usr.
#
# The shared-library dependencies (Qt 6, oneTBB, PCRE2, libstdc++, libc ...) are found by
# dpkg-shlibdeps from the binaries; what the window loads at run time without linking to it is added
# by hand: the xcb platform plugin (qt6-qpa-plugins) and a font (fonts-dejavu-core).

set(CPACK_PACKAGE_NAME "${PLAYGROUND_DATA_NAME}")
set(CPACK_PACKAGE_VENDOR "LLM Thread Playground")
set(CPACK_PACKAGE_CONTACT
    "Seed 040fb02a maintainers <maintainers@users.noreply.r-seed-040fb02a.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "watch a small language model generate text on many CPU threads")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "${PLAYGROUND_DATA_NAME}")
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR "DEB")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# The summary is the Description's first line; CPack indents this body and marks the blank line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "LLM Thread Playground runs a small language model on the CPU with oneTBB and shows
what each worker thread does, token by token: a timeline per thread, speedup and
Amdahl fits over thread counts and scheduling strategies.

The package holds the desktop window (llm-playground), the command-line program
(llm-playground-cli) and the default models.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(PLAYGROUND_BUILD_GUI)
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins, fonts-dejavu-core")
endif()

include(CPack)
