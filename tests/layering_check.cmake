# The engine's layering, checked on the sources: every #include in engine/**/*.{h,cpp} may reach
# only its own room and the rooms below it (engine/CMakeLists.txt draws the same table, and the
# build enforces it through include paths; this check also covers includes the build would not see,
# e.g. a relative "../model/x.h" or a header nobody compiles yet). The engine never includes ui/ or
# Qt headers.
#
#   cmake -DSOURCE_DIR=<repository root> -P tests/layering_check.cmake
#
# Prints every offending line (file:line: text) and fails if there is any.

cmake_minimum_required(VERSION 3.25)

if(NOT SOURCE_DIR)
    get_filename_component(SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()

# Room -> the rooms it may include besides itself.
set(allowed_format "")
set(allowed_parallel "")
set(allowed_text format)
set(allowed_kernels format)
set(allowed_model format text kernels parallel)
set(allowed_run model format text kernels parallel)
set(allowed_measure run model format text kernels parallel)
set(allowed_lessons measure run model format text kernels parallel)
set(rooms format parallel text kernels model run measure lessons)

file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/engine/*.h" "${SOURCE_DIR}/engine/*.cpp")
list(SORT sources)
list(LENGTH sources file_count)
if(file_count EQUAL 0)
    message(FATAL_ERROR "layering: no sources under ${SOURCE_DIR}/engine")
endif()

set(violations "")
set(include_count 0)
foreach(file IN LISTS sources)
    # engine/<room>/...; a file straight under engine/ belongs to no room and may include none.
    string(REGEX MATCH "^engine/([^/]+)/" _ "${file}")
    set(room "${CMAKE_MATCH_1}")
    if(room STREQUAL "" OR NOT room IN_LIST rooms)
        list(APPEND violations "${file}: not in a known room (${rooms}); add it to tests/layering_check.cmake")
        continue()
    endif()
    get_filename_component(file_dir "${file}" DIRECTORY)
    file(STRINGS "${SOURCE_DIR}/${file}" lines)
    set(line_number 0)
    foreach(line IN LISTS lines)
        math(EXPR line_number "${line_number} + 1")
        if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
            continue()
        endif()
        set(kind "${CMAKE_MATCH_1}")
        set(header "${CMAKE_MATCH_2}")
        set(where "${file}:${line_number}: ${line}")
        if(kind STREQUAL "<")
            # Qt: <QString>, <QtCore/qglobal.h>, <qglobal.h>.
            if(header MATCHES "^Q[A-Za-z]+(/|$)|^qt|^q[a-z]+\\.h$")
                list(APPEND violations "${where}  (the engine has no Qt)")
            endif()
            continue()
        endif()
        math(EXPR include_count "${include_count} + 1")
        # Root-relative ("engine/run/defaults.h"), else relative to the including file.
        if(header MATCHES "^(engine|ui|app|tests)/")
            set(target "${header}")
        else()
            get_filename_component(target "${SOURCE_DIR}/${file_dir}/${header}" ABSOLUTE)
            file(RELATIVE_PATH target "${SOURCE_DIR}" "${target}")
        endif()
        if(target MATCHES "^Q[A-Za-z]+(/|$)")
            list(APPEND violations "${where}  (the engine has no Qt)")
        elseif(target MATCHES "^engine/([^/]+)/")
            set(to "${CMAKE_MATCH_1}")
            if(NOT to STREQUAL room AND NOT to IN_LIST allowed_${room})
                string(REPLACE ";" " " may "${allowed_${room}}")
                if(may STREQUAL "")
                    set(may "nothing else")
                endif()
                list(APPEND violations "${where}  (${room} may include: ${may})")
            endif()
        elseif(target MATCHES "^(ui|app|tests)/")
            list(APPEND violations "${where}  (the engine never includes ${CMAKE_MATCH_1}/)")
        elseif(target MATCHES "^\\.\\./" OR EXISTS "${SOURCE_DIR}/${target}")
            list(APPEND violations "${where}  (outside the engine's rooms)")
        endif()
    endforeach()
endforeach()

list(LENGTH violations violation_count)
if(violation_count GREATER 0)
    list(JOIN violations "\n  " text)
    message(FATAL_ERROR "layering: ${violation_count} include(s) break the engine's layering "
        "(format; parallel; text -> format; kernels -> format; model -> format text kernels parallel; "
        "run -> model and below; measure -> run and below; lessons -> measure and below; no ui/, no Qt):\n  ${text}")
endif()
message(STATUS "layering: ${file_count} files, ${include_count} quoted includes, all within the table")
