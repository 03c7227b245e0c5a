// The names of the floating-point dtypes r1 uses, in one place: the config's model.dtype, a
// Hugging Face config.json's torch_dtype, `r1 worker --dtype`, LocalWorkerOptions::dtype and the
// compute dtype the scheduler announces all spell them this way. (LibTorch's ScalarType of each:
// model/dtype.h.) Which dtypes a given place accepts is that place's rule.
#ifndef R1_BASE_DTYPE_NAMES_H_
#define R1_BASE_DTYPE_NAMES_H_

#include <optional>
#include <utility>

#include "absl/strings/string_view.h"

namespace r1 {

enum class Dtype {
  kFloat32,   // "float32"
  kBFloat16,  // "bfloat16"
  kFloat16,   // "float16"
  kFloat64,   // "float64" (tests: exact CPU reference runs)
};

inline constexpr std::pair<Dtype, absl::string_view> kDtypeNames[] = {
    {Dtype::kFloat32, "float32"},
    {Dtype::kBFloat16, "bfloat16"},
    {Dtype::kFloat16, "float16"},
    {Dtype::kFloat64, "float64"},
};

inline absl::string_view DtypeName(Dtype dtype) {
  for (const auto& [d, name] : kDtypeNames) {
    if (d == dtype) return name;
  }
  return "?";  // not reached: every enumerator has a name
}

// nullopt for a name not above.
inline std::optional<Dtype> DtypeByName(absl::string_view name) {
  for (const auto& [d, n] : kDtypeNames) {
    if (n == name) return d;
  }
  return std::nullopt;
}

}  // namespace r1

#endif  // R1_BASE_DTYPE_NAMES_H_
