# One ISA level's copy of the kernel sources (playground_isa_sources in engine/CMakeLists.txt) may define global
# symbols only inside its own namespace, engine::<LEVEL> (and Eigen_<LEVEL>). A global definition outside it, such as
# an inline function or template of a header emitted out of line, would be merged by the linker with the same
# symbol from the baseline program or another level, and code built for AVX-512 could then run on a CPU without it.
#
#   cmake -DNM=<nm> -DLEVEL=isa_avx512 -DOBJECTS="a.o|b.o" -P tests/isa_symbols_check.cmake

cmake_minimum_required(VERSION 3.25)

if(NOT NM OR NOT LEVEL OR NOT OBJECTS)
    message(FATAL_ERROR "isa symbols: NM, LEVEL and OBJECTS are required")
endif()
string(REPLACE "|" ";" objects "${OBJECTS}")
set(violations "")
set(checked 0)
foreach(object IN LISTS objects)
    execute_process(COMMAND "${NM}" -C -g --defined-only "${object}"
        OUTPUT_VARIABLE symbols RESULT_VARIABLE result ERROR_VARIABLE error)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "isa symbols: ${NM} failed on ${object}: ${error}")
    endif()
    string(REPLACE "\n" ";" lines "${symbols}")
    foreach(line IN LISTS lines)
        if(line STREQUAL "")
            continue()
        endif()
        math(EXPR checked "${checked} + 1")
        string(FIND "${line}" "${LEVEL}" at)
        # DW.ref.__gxx_personality_v0: a pointer to the C++ runtime's exception personality, the same in every copy.
        if(at EQUAL -1 AND NOT line MATCHES " DW\\.ref\\.__gxx_personality_v0$")
            string(APPEND violations "  ${object}: ${line}\n")
        endif()
    endforeach()
endforeach()
if(checked EQUAL 0)
    message(FATAL_ERROR "isa symbols: no global symbols found in ${OBJECTS}")
endif()
if(violations)
    message(FATAL_ERROR "isa symbols: definitions outside ${LEVEL}:\n${violations}")
endif()
message(STATUS "isa symbols: ${checked} global definitions, all in ${LEVEL}")
