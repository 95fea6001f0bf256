# NsFuzz.cmake - the fuzz harnesses tests/fuzz/fuzz_<name>.c, each with its
# corpus tests/fuzz/<name>/ (seeds and every crasher ever found: regressions).
#   NS_FUZZ=ON (clang):  fuzz_<name> is a libFuzzer binary; `fuzz_<name> DIR`
#                        fuzzes (scripts/fuzz runs each for a while);
#   otherwise (gcc):     fuzz_<name> links tests/fuzz/replay_main.c instead.
# Either way ctest's fuzz.<name> (label fuzz) runs every corpus file once:
# seconds, and under ASan/UBSan in the sanitizer and fuzz builds.
file(GLOB NS_FUZZ_HARNESSES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
foreach(src IN LISTS NS_FUZZ_HARNESSES)
  get_filename_component(exe ${src} NAME_WE)      # fuzz_spec
  string(REGEX REPLACE "^fuzz_" "" name ${exe})   # spec
  if(NS_FUZZ)
    add_executable(${exe} ${src})
    target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
    # -runs=0: the corpus only; artifacts (none expected) go to the build dir
    set(cmd $<TARGET_FILE:${exe}> -runs=0 -timeout=30 -rss_limit_mb=2048
            -artifact_prefix=${CMAKE_BINARY_DIR}/fuzz-${name}- ${CMAKE_SOURCE_DIR}/tests/fuzz/${name})
  elseif(NS_BUILD_TESTS)
    add_executable(${exe} ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
    set(cmd $<TARGET_FILE:${exe}> ${CMAKE_SOURCE_DIR}/tests/fuzz/${name})
  else()
    continue()
  endif()
  target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${exe} PRIVATE normsweep_lib)
  add_test(NAME fuzz.${name} COMMAND ${cmd})
  set(env "NS_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  if(NS_SANITIZE OR NS_FUZZ)
    list(APPEND env "ASAN_OPTIONS=detect_leaks=1" "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
  set_tests_properties(fuzz.${name} PROPERTIES LABELS "fuzz" TIMEOUT 300 ENVIRONMENT "${env}")
endforeach()
