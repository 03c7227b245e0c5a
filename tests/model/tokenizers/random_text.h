// Random valid UTF-8 strings for tokenizer round-trip tests: ASCII, CJK, emoji, combining marks,
// whitespace runs, newlines, digits, contractions and special-token texts.
#ifndef R1_TESTS_MODEL_TOKENIZERS_RANDOM_TEXT_H_
#define R1_TESTS_MODEL_TOKENIZERS_RANDOM_TEXT_H_

#include <random>
#include <string>
#include <vector>

#include "model/tokenizers/unicode.h"

namespace r1 {

// A string of up to `max_parts` random fragments; deterministic for a given `rng` state.
inline std::string RandomText(std::mt19937* rng, int max_parts,
                              const std::vector<std::string>& specials) {
  std::uniform_int_distribution<int> parts_dist(0, max_parts);
  std::uniform_int_distribution<int> kind_dist(0, 13);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
  std::string s;
  const int parts = parts_dist(*rng);
  for (int p = 0; p < parts; ++p) {
    switch (kind_dist(*rng)) {
      case 0:  // ASCII word
        for (int i = uniform(1, 8); i > 0; --i) s.push_back(static_cast<char>(uniform('a', 'z')));
        break;
      case 1:  // any printable ASCII
        for (int i = uniform(1, 6); i > 0; --i) s.push_back(static_cast<char>(uniform(0x20, 0x7E)));
        break;
      case 2:  // whitespace run
        for (int i = uniform(1, 5); i > 0; --i) s.push_back(" \t\n\r\v\f"[uniform(0, 5)]);
        break;
      case 3:  // newlines
        s += std::string(uniform(1, 3), '\n');
        break;
      case 4:  // digits
        for (int i = uniform(1, 7); i > 0; --i) s.push_back(static_cast<char>(uniform('0', '9')));
        break;
      case 5:  // CJK
        for (int i = uniform(1, 5); i > 0; --i) AppendUtf8(uniform(0x4E00, 0x9FFF), &s);
        break;
      case 6:  // emoji, sometimes with ZWJ or variation selector
        AppendUtf8(uniform(0x1F600, 0x1F64F), &s);
        if (uniform(0, 2) == 0) AppendUtf8(uniform(0, 1) ? 0x200D : 0xFE0F, &s);
        break;
      case 7:  // letter + combining mark(s)
        s.push_back(static_cast<char>(uniform('a', 'z')));
        for (int i = uniform(1, 2); i > 0; --i) AppendUtf8(uniform(0x300, 0x36F), &s);
        break;
      case 8:  // special-token text
        if (!specials.empty()) s += specials[uniform(0, static_cast<int>(specials.size()) - 1)];
        break;
      case 9: {  // contractions and quotes
        static const char* kBits[] = {"'s", "'T", "'re", "'VE", "'m", "'ll", "'d", "'", "\""};
        s += kBits[uniform(0, 8)];
        break;
      }
      case 10:  // other scripts: Cyrillic, Greek, Arabic, Hangul, Devanagari
        for (int i = uniform(1, 5); i > 0; --i) {
          static const int kStarts[] = {0x430, 0x3B1, 0x627, 0xAC00, 0x915};
          AppendUtf8(kStarts[uniform(0, 4)] + uniform(0, 20), &s);
        }
        break;
      case 11:  // unusual spaces and punctuation
        AppendUtf8(
            std::vector<int>{0xA0, 0x3000, 0x2028, 0x85, 0x2014, 0xFF0C, 0xB7}[uniform(0, 6)], &s);
        break;
      case 12:  // any code point of the BMP or above, no surrogates
      {
        int c = uniform(0x80, 0x10FFFF);
        if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
        AppendUtf8(c, &s);
      } break;
      default:  // a space then a word
        s += " ";
        for (int i = uniform(1, 6); i > 0; --i) s.push_back(static_cast<char>(uniform('A', 'z')));
        break;
    }
  }
  return s;
}

}  // namespace r1

#endif  // R1_TESTS_MODEL_TOKENIZERS_RANDOM_TEXT_H_
