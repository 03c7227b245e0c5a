# Finds every third-party dependency once; targets below link them PRIVATE.
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)          # CMake's FindProtobuf: Debian ships no protobuf config
find_package(gRPC CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc)
find_package(MPI REQUIRED COMPONENTS CXX)
# LibTorch: Debian's CPU build (libtorch-dev, 1.13) by default, or any official LibTorch 1.13 / 2.x,
# CPU or CUDA, with -DTorch_DIR=<libtorch>/share/cmake/Torch (for PyTorch's wheel:
# python3 -c 'import torch; print(torch.utils.cmake_prefix_path)'/Torch). Whether models can run
# on a GPU is decided at run time (torch::cuda::is_available()), not here.
find_package(Torch CONFIG REQUIRED)
message(STATUS "r1: LibTorch ${Torch_VERSION} from ${Torch_DIR}")
# LibTorch archives and wheels carry the (older) protobuf headers they were built with in
# <libtorch>/include/google, searched before the system's; r1's generated code needs the protobuf
# that protoc generated it for. A directory holding only `google` -> the system protobuf's, put
# first on every target's include path (-I comes before LibTorch's -isystem), restores the order.
foreach(dir ${TORCH_INCLUDE_DIRS})
  if(EXISTS "${dir}/google/protobuf" AND NOT dir STREQUAL Protobuf_INCLUDE_DIR)
    set(R1_INCLUDE_FIRST "${CMAKE_BINARY_DIR}/include-first")
    file(MAKE_DIRECTORY "${R1_INCLUDE_FIRST}")
    file(CREATE_LINK "${Protobuf_INCLUDE_DIR}/google" "${R1_INCLUDE_FIRST}/google" SYMBOLIC)
    include_directories(BEFORE "${R1_INCLUDE_FIRST}")
    message(STATUS "r1: LibTorch ships protobuf headers (${dir}/google): the system's come first")
    break()
  endif()
endforeach()

# NCCL backend: built whenever CUDA runtime + NCCL headers/libraries are present (no GPU needed).
# R1_NCCL_ROOT: an NCCL outside the CUDA toolkit (e.g. the nvidia-nccl wheel's directory).
set(R1_CUDA_ROOT "/usr/local/cuda" CACHE PATH "CUDA toolkit root searched for NCCL")
set(R1_NCCL_ROOT "" CACHE PATH "NCCL root (include/nccl.h, lib/libnccl.so) if not in R1_CUDA_ROOT")
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${R1_NCCL_ROOT}/include ${R1_CUDA_ROOT}/include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2
             HINTS ${R1_NCCL_ROOT}/lib ${R1_CUDA_ROOT}/lib64 ${R1_CUDA_ROOT}/lib)
find_path(CUDART_INCLUDE_DIR cuda_runtime_api.h HINTS ${R1_CUDA_ROOT}/include)
find_library(CUDART_LIBRARY cudart HINTS ${R1_CUDA_ROOT}/lib64 ${R1_CUDA_ROOT}/lib)
if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY AND CUDART_INCLUDE_DIR AND CUDART_LIBRARY)
  set(R1_HAVE_NCCL ON)
  add_library(r1_nccl_deps INTERFACE)
  target_include_directories(r1_nccl_deps SYSTEM INTERFACE ${NCCL_INCLUDE_DIR} ${CUDART_INCLUDE_DIR})
  target_link_libraries(r1_nccl_deps INTERFACE ${NCCL_LIBRARY} ${CUDART_LIBRARY})
  message(STATUS "r1: NCCL backend enabled (${NCCL_LIBRARY})")
else()
  set(R1_HAVE_NCCL OFF)
  message(STATUS "r1: NCCL not found; NCCL backend disabled")
endif()

if(R1_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
