# NsTests.cmake - register every test by file name alone, so adding a test
# never means editing CMake:
#   tests/unit/test_*.c   Check suite, one process               label: unit
#   tests/mpi/test_*.c    Check suite under mpiexec (2 and 3 ranks, oversubscribed)
#                                                                label: mpi
#   tests/cli/test_*.sh   shell test driving the built binary    label: cli
#   tests/slurm/test_*.sh shell test against a local Slurm       label: slurm
#   tests/multihost/test_*.sh  shell test across network namespaces label: multihost
# A source file may carry these lines (anywhere, usually in its header comment):
#   ctest-labels: slow        extra labels
#   ctest-timeout: 600        seconds (default 300)
#   ctest-ranks: 2 3          MPI rank counts (mpi tests only)
#   ctest-sources: a.c        helper sources beside it, compiled into its binary
#                             (Check suites only; helpers are not named test_*)

set(NS_TEST_COMMON ${CMAKE_SOURCE_DIR}/tests/common/ns_test.c)

# Environment every test sees. Open MPI refuses root without the two ALLOW
# variables (CI runs as root; they are harmless for ordinary users), and more
# ranks than cores needs oversubscription. Check's fork-mode timeouts are
# scaled under the sanitizers.
set(NS_TEST_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1"
  "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  "OMPI_MCA_rmaps_base_oversubscribe=1"
  "NS_BIN=$<TARGET_FILE:normsweep>"
  "NS_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "NS_BUILD_DIR=${CMAKE_BINARY_DIR}")
if(NS_SANITIZE)
  # Open MPI leaks at MPI_Finalize from dlopen'd components (platform.md):
  # leak checking stays on for non-MPI tests only (set per test below).
  list(APPEND NS_TEST_ENV "CK_TIMEOUT_MULTIPLIER=10" "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()

function(ns_read_test_meta file out_labels out_timeout out_ranks)
  file(STRINGS ${file} _l REGEX "ctest-labels:")
  file(STRINGS ${file} _t REGEX "ctest-timeout:")
  file(STRINGS ${file} _r REGEX "ctest-ranks:")
  set(labels "")
  foreach(line IN LISTS _l)
    string(REGEX REPLACE ".*ctest-labels:[ \t]*" "" v "${line}")
    string(REGEX REPLACE "[ \t]*\\*/.*" "" v "${v}")
    separate_arguments(v)
    list(APPEND labels ${v})
  endforeach()
  set(timeout 300)
  if(_t)
    list(GET _t 0 line)
    string(REGEX MATCH "ctest-timeout:[ \t]*([0-9]+)" _m "${line}")
    set(timeout ${CMAKE_MATCH_1})
  endif()
  set(ranks 2 3)
  if(_r)
    list(GET _r 0 line)
    string(REGEX REPLACE ".*ctest-ranks:[ \t]*" "" v "${line}")
    string(REGEX REPLACE "[ \t]*\\*/.*" "" v "${v}")
    separate_arguments(v)
    set(ranks ${v})
  endif()
  set(${out_labels} "${labels}" PARENT_SCOPE)
  set(${out_timeout} "${timeout}" PARENT_SCOPE)
  set(${out_ranks} "${ranks}" PARENT_SCOPE)
endfunction()

function(ns_add_check_exe name src)
  file(STRINGS ${src} _s REGEX "ctest-sources:")
  set(helpers "")
  get_filename_component(dir ${src} DIRECTORY)
  foreach(line IN LISTS _s)
    string(REGEX REPLACE ".*ctest-sources:[ \t]*" "" v "${line}")
    string(REGEX REPLACE "[ \t]*\\*/.*" "" v "${v}")
    separate_arguments(v)
    foreach(h IN LISTS v)
      list(APPEND helpers ${dir}/${h})
    endforeach()
  endforeach()
  add_executable(${name} ${src} ${helpers} ${NS_TEST_COMMON})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/common ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${name} PRIVATE normsweep_lib PkgConfig::CHECK)
endfunction()

# ---- unit
file(GLOB NS_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src IN LISTS NS_UNIT_TESTS)
  get_filename_component(name ${src} NAME_WE)
  ns_add_check_exe(${name} ${src})
  ns_read_test_meta(${src} labels timeout ranks)
  add_test(NAME unit.${name} COMMAND ${name})
  set(env ${NS_TEST_ENV})
  if(NS_SANITIZE)
    list(APPEND env "ASAN_OPTIONS=detect_leaks=1")
  endif()
  set_tests_properties(unit.${name} PROPERTIES LABELS "unit;${labels}" TIMEOUT ${timeout}
                       ENVIRONMENT "${env}")
endforeach()

# ---- mpi
file(GLOB NS_MPI_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/mpi/test_*.c)
foreach(src IN LISTS NS_MPI_TESTS)
  get_filename_component(name ${src} NAME_WE)
  ns_add_check_exe(${name} ${src})
  ns_read_test_meta(${src} labels timeout ranks)
  foreach(np IN LISTS ranks)
    add_test(NAME mpi.${name}.np${np}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${MPIEXEC_PREFLAGS}
                     $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
    set(env ${NS_TEST_ENV})
    if(NS_SANITIZE)
      list(APPEND env "ASAN_OPTIONS=detect_leaks=0")
    endif()
    set_tests_properties(mpi.${name}.np${np} PROPERTIES LABELS "mpi;${labels}"
                         TIMEOUT ${timeout} ENVIRONMENT "${env}" PROCESSORS ${np})
  endforeach()
endforeach()

# ---- shell tests (cli, slurm, multihost)
foreach(kind cli slurm multihost)
  file(GLOB _tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${kind}/test_*.sh)
  foreach(src IN LISTS _tests)
    get_filename_component(name ${src} NAME_WE)
    ns_read_test_meta(${src} labels timeout ranks)
    add_test(NAME ${kind}.${name} COMMAND bash ${src})
    set(env ${NS_TEST_ENV})
    if(NS_SANITIZE)
      list(APPEND env "ASAN_OPTIONS=detect_leaks=0")
    endif()
    set_tests_properties(${kind}.${name} PROPERTIES LABELS "${kind};${labels}"
                         TIMEOUT ${timeout} ENVIRONMENT "${env}" SKIP_RETURN_CODE 77)
  endforeach()
endforeach()
