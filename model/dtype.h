// LibTorch's ScalarType of each r1 dtype (base/dtype_names.h has their names).
#ifndef R1_MODEL_DTYPE_H_
#define R1_MODEL_DTYPE_H_

#include <c10/core/ScalarType.h>

#include "base/dtype_names.h"

namespace r1 {

inline at::ScalarType ToScalarType(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFloat32:
      return at::kFloat;
    case Dtype::kBFloat16:
      return at::kBFloat16;
    case Dtype::kFloat16:
      return at::kHalf;
    case Dtype::kFloat64:
      return at::kDouble;
  }
  return at::kFloat;  // not reached
}

}  // namespace r1

#endif  // R1_MODEL_DTYPE_H_
