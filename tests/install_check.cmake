# Installs the build into a fresh temporary prefix and runs the installed command-line program from
# an unrelated folder on the installed default model (no --model, no $PLAYGROUND_MODEL), once by
# its full path and once as a bare name found through $PATH. Then it spoils the installed model and
# checks both runs now fail: proof that they read the installed copy, not the source tree's.
#
#   cmake -DBUILD_DIR=<build folder> -DDATA_NAME=llm-thread-playground -DGUI=ON|OFF
#         -P tests/install_check.cmake
#
# Also checks the menu entry and icon are installed (with desktop-file-validate when present).

cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR DATA_NAME)
    if(NOT ${var})
        message(FATAL_ERROR "install check: pass -D${var}=...")
    endif()
endforeach()

# Outside the source and build trees, so nothing is found by accident next to them.
if(DEFINED ENV{TMPDIR} AND IS_DIRECTORY "$ENV{TMPDIR}")
    set(tmp "$ENV{TMPDIR}")
else()
    set(tmp "/tmp")
endif()
string(RANDOM LENGTH 8 ALPHABET "abcdefghijklmnopqrstuvwxyz0123456789" tag)
set(root "${tmp}/llm-playground-install-check-${tag}")
set(prefix "${root}/prefix")
set(elsewhere "${root}/elsewhere")
file(REMOVE_RECURSE "${root}")
file(MAKE_DIRECTORY "${prefix}" "${elsewhere}")

function(fail)
    list(JOIN ARGN "" text)
    message(FATAL_ERROR "install check: ${text}\n(left for a look: ${root})")
endfunction()

execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    fail("cmake --install failed (${rc}):\n${out}${err}")
endif()

set(expected
    bin/llm-playground-cli
    share/${DATA_NAME}/models/playground-kjv.gguf
    share/${DATA_NAME}/models/REPORT.md)
if(GUI)
    list(APPEND expected
        bin/llm-playground
        share/applications/${DATA_NAME}.desktop
        share/icons/hicolor/scalable/apps/${DATA_NAME}.svg
        share/icons/hicolor/256x256/apps/${DATA_NAME}.png)
endif()
foreach(f IN LISTS expected)
    if(NOT EXISTS "${prefix}/${f}")
        fail("not installed: ${f}")
    endif()
endforeach()

if(GUI)
    find_program(DESKTOP_FILE_VALIDATE desktop-file-validate)
    if(DESKTOP_FILE_VALIDATE)
        execute_process(COMMAND "${DESKTOP_FILE_VALIDATE}" "${prefix}/share/applications/${DATA_NAME}.desktop"
            RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
        if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
            fail("desktop-file-validate:\n${out}${err}")
        endif()
    else()
        message(STATUS "desktop-file-validate not installed; menu entry not validated")
    endif()
    file(STRINGS "${prefix}/share/applications/${DATA_NAME}.desktop" exec REGEX "^Exec=")
    if(NOT exec MATCHES "^Exec=llm-playground( |$)")
        fail("the menu entry does not start the installed window: ${exec}")
    endif()
endif()

unset(ENV{PLAYGROUND_MODEL})
set(path_before "$ENV{PATH}")
set(ENV{PATH} "${prefix}/bin:$ENV{PATH}")

# run(<result var> <stdout var> <command...>): the CLI from ${elsewhere}, 8 tokens.
function(run rc_var out_var program)
    execute_process(COMMAND "${program}" generate -n 8 --seed 1
        WORKING_DIRECTORY "${elsewhere}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    set(${rc_var} "${rc}" PARENT_SCOPE)
    set(${out_var} "${out}" PARENT_SCOPE)
    set(last_err "${err}" PARENT_SCOPE)
endfunction()

foreach(program "${prefix}/bin/llm-playground-cli" llm-playground-cli)
    run(rc out "${program}")
    string(STRIP "${out}" text)
    string(LENGTH "${text}" length)
    if(NOT rc EQUAL 0 OR length EQUAL 0)
        fail("${program} generate -n 8 from ${elsewhere}: exit ${rc}, stdout '${out}'\n${last_err}")
    endif()
    if(last_err MATCHES "synthetic")
        fail("${program} did not find the installed model:\n${last_err}")
    endif()
    message(STATUS "${program}: ${text}")
endforeach()

# A spoilt installed model must now be what both runs trip over.
file(WRITE "${prefix}/share/${DATA_NAME}/models/playground-kjv.gguf" "not a GGUF file\n")
foreach(program "${prefix}/bin/llm-playground-cli" llm-playground-cli)
    run(rc out "${program}")
    if(rc EQUAL 0)
        fail("${program} still generated with the installed model spoilt: it reads another copy\n${out}")
    endif()
endforeach()

set(ENV{PATH} "${path_before}")
file(REMOVE_RECURSE "${root}")
message(STATUS "install check: installed programs find the installed model from ${elsewhere}")
