# Build helpers shared by every folder: one way to add a plugin, one way to add a test.

include_guard(GLOBAL)

# Where installed modules go, relative to the prefix. Not under CMAKE_INSTALL_LIBDIR: that is
# lib/<multiarch> for prefix /usr on Debian, and the daemon's default plugins.directory is
# /usr/lib/dbproxy/plugins (Debian's place for a package's private arch-dependent files).
set(DBPROXY_INSTALL_PLUGINDIR "lib/dbproxy/plugins" CACHE STRING
  "Install directory of the modules, relative to CMAKE_INSTALL_PREFIX")

# dbproxy_add_plugin(<name> SOURCES a.cc b.cc [LIBS extra...])
# Builds <name>.so into ${DBPROXY_PLUGIN_BUILD_DIR} with hidden visibility, one exported
# symbol (dbp_plugin_entry), no undefined symbols, and links only the SDK and the proto
# library (plus LIBS for third-party libraries such as CURL::libcurl).
# TEST_ONLY puts the .so in ${DBPROXY_TEST_PLUGIN_BUILD_DIR} and does not install it.
function(dbproxy_add_plugin name)
  cmake_parse_arguments(ARG "TEST_ONLY" "" "SOURCES;LIBS" ${ARGN})
  set(target dbproxy_plugin_${name})
  set(out_dir ${DBPROXY_PLUGIN_BUILD_DIR})
  if(ARG_TEST_ONLY)
    set(out_dir ${DBPROXY_TEST_PLUGIN_BUILD_DIR})
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${out_dir}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # GCC only: keeps a module unloadable (clang never emits STB_GNU_UNIQUE).
  target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
  if(DBPROXY_FUZZ)
    # Coverage and sanitizer instrumentation for tests/fuzz; the sanitizer runtimes live in
    # the fuzz executable, so their symbols are undefined here (no -z defs).
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  else()
    target_link_options(${target} PRIVATE -Wl,-z,defs)
  endif()
  target_link_options(${target} PRIVATE
    -Wl,--exclude-libs,ALL
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/sdk/cmake/plugin.map)
  target_link_libraries(${target} PRIVATE dbproxy::sdk dbproxy::proto dbproxy::warnings
    ${ARG_LIBS})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
  if(NOT ARG_TEST_ONLY)
    install(TARGETS ${target} LIBRARY DESTINATION ${DBPROXY_INSTALL_PLUGINDIR}
      COMPONENT runtime)
  endif()
endfunction()

# dbproxy_add_test(<name> SOURCES a_test.cc [LIBS ...] [WHOLE])
# A googletest binary. Unit tests are discovered case by case; WHOLE registers the binary
# as one ctest entry (integration suites that share one MariaDB database per process).
function(dbproxy_add_test name)
  cmake_parse_arguments(ARG "WHOLE" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE GTest::gtest GTest::gtest_main dbproxy::warnings
    ${ARG_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_compile_definitions(${name} PRIVATE
    DBPROXY_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    DBPROXY_BINARY_DIR="${PROJECT_BINARY_DIR}"
    DBPROXY_PLUGIN_DIR="${DBPROXY_PLUGIN_BUILD_DIR}"
    DBPROXY_TEST_PLUGIN_DIR="${DBPROXY_TEST_PLUGIN_BUILD_DIR}")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(ARG_WHOLE)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  else()
    include(GoogleTest)
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  endif()
endfunction()
