// 128-bit integer helpers for exact arithmetic on 64-bit values (products of two int64 fit):
// the countdown verifier's rationals and the math-answer comparison of fractions.
#ifndef R1_BASE_INT128_H_
#define R1_BASE_INT128_H_

namespace r1 {

using Int128 = __int128;

// The greatest common divisor of |a| and |b|, >= 0; Gcd(0, 0) == 0. The magnitudes must fit in
// Int128 (neither is the most negative value).
inline Int128 Gcd(Int128 a, Int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    const Int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

}  // namespace r1

#endif  // R1_BASE_INT128_H_
