# Helpers that keep per-folder CMakeLists short.
#
# r1_use_torch(TARGET [NO_PCH]): link LibTorch; unless NO_PCH, precompile <torch/torch.h> for the
# target. Each library gets its own PCH: a PCH shared through REUSE_FROM was silently rejected by
# GCC ("not used because _REENTRANT is defined") whenever the user's flags differed (-pthread from
# MPI, -fPIE in executables), so every torch .cc paid the full 20-30 s parse. Single-source
# executables (tests, benchmarks) gain nothing from a PCH and pass NO_PCH.
function(r1_use_torch target)
  cmake_parse_arguments(ARG "NO_PCH" "" "" ${ARGN})
  target_link_libraries(${target} PRIVATE torch)
  if(NOT ARG_NO_PCH)
    target_precompile_headers(${target} PRIVATE <torch/torch.h>)
  endif()
endfunction()

# r1_glob_sources(OUT DIR): the non-test .cc files directly in DIR.
function(r1_glob_sources out dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${dir}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "_test\\.cc$")
  set(${out} ${srcs} PARENT_SCOPE)
endfunction()

# r1_add_test(SOURCE [TORCH] [LABELS l...] [LIBS lib...]): one GoogleTest executable per file,
# named after it; tests are registered with CTest (gtest_discover_tests) under the given labels.
function(r1_add_test src)
  cmake_parse_arguments(ARG "TORCH" "" "LABELS;LIBS" ${ARGN})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
                        absl::status absl::statusor absl::strings)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  target_compile_definitions(${name} PRIVATE
      R1_SOURCE_DIR="${CMAKE_SOURCE_DIR}" R1_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/data"
      R1_BINARY_DIR="${CMAKE_BINARY_DIR}")
  if(ARG_TORCH)
    r1_use_torch(${name} NO_PCH)
  endif()
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${labels}" DISCOVERY_TIMEOUT 60)
endfunction()

# r1_expose_folders(TARGET DIRS d...): TARGET's public include root holds only its own folders.
# Headers are included from the repository root ("model/transformer.h"); the root is
# BUILD/include/TARGET with a link per folder (model -> SOURCE/model), so a target sees the headers
# of the libraries it links and no others: an include against the layering fails to compile.
function(r1_expose_folders target)
  set(root ${CMAKE_BINARY_DIR}/include/${target})
  foreach(dir ${ARGN})
    file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${dir})
    set(covered FALSE)  # a sub-folder of another listed folder is exposed through that one
    foreach(other ${ARGN})
      file(RELATIVE_PATH other_rel ${CMAKE_SOURCE_DIR} ${other})
      if(NOT other_rel STREQUAL rel AND rel MATCHES "^${other_rel}/")
        set(covered TRUE)
      endif()
    endforeach()
    if(NOT covered)
      get_filename_component(parent ${root}/${rel} DIRECTORY)
      file(MAKE_DIRECTORY ${parent})
      file(CREATE_LINK ${dir} ${root}/${rel} SYMBOLIC)
    endif()
  endforeach()
  target_include_directories(${target} PUBLIC ${root})
endfunction()

# r1_add_library(NAME DIRS d... [PUBLIC_LIBS l...] [PRIVATE_LIBS l...] [TORCH]): a static library of
# the non-test .cc files in the given folders. Files named *_nccl.cc are compiled only when the NCCL
# backend is enabled. It exposes only its folders (r1_expose_folders); the build dir is a private
# include path (generated files such as pipeline/default_config_yaml.inc).
function(r1_add_library name)
  cmake_parse_arguments(ARG "TORCH" "" "DIRS;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  set(all_srcs)
  foreach(dir ${ARG_DIRS})
    r1_glob_sources(srcs ${dir})
    list(APPEND all_srcs ${srcs})
  endforeach()
  if(NOT R1_HAVE_NCCL)
    list(FILTER all_srcs EXCLUDE REGEX "_nccl\\.cc$")
  endif()
  if(NOT all_srcs)
    set(all_srcs ${CMAKE_SOURCE_DIR}/cmake/empty.cc)
  endif()
  add_library(${name} STATIC ${all_srcs})
  r1_expose_folders(${name} ${ARG_DIRS})
  target_include_directories(${name} PRIVATE ${CMAKE_BINARY_DIR})
  target_link_libraries(${name} PUBLIC r1_base ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  if(ARG_TORCH)
    r1_use_torch(${name})
  endif()
endfunction()

# r1_add_folder_tests(DIR [TORCH] [LABELS l...] LIBS l...): every *_test.cc in DIR becomes a test
# executable. Files named *_mpi_test.cc (multi-process, launched through mpirun) get the label
# "multiprocess" so that a quick run can skip them: ctest -LE multiprocess; *_browser_test.cc
# (headless Chromium) get "browser". LABELS replaces the default "unit" for the whole folder.
function(r1_add_folder_tests dir)
  cmake_parse_arguments(ARG "TORCH" "" "LIBS;LABELS" ${ARGN})
  file(GLOB tests CONFIGURE_DEPENDS ${dir}/*_test.cc)
  if(NOT R1_HAVE_NCCL)
    list(FILTER tests EXCLUDE REGEX "_nccl_test\\.cc$")
  endif()
  foreach(t ${tests})
    set(labels unit)
    if(ARG_LABELS)
      set(labels ${ARG_LABELS})
    elseif(t MATCHES "_mpi_test\\.cc$")
      set(labels multiprocess)
    elseif(t MATCHES "_browser_test\\.cc$")
      set(labels browser)
    endif()
    if(ARG_TORCH)
      r1_add_test(${t} TORCH LABELS ${labels} LIBS ${ARG_LIBS})
    else()
      r1_add_test(${t} LABELS ${labels} LIBS ${ARG_LIBS})
    endif()
  endforeach()
endfunction()
