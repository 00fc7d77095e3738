// Names for the cases of a parameterised table test, from each case's `name` text.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

namespace cachecar::test {

// "same strong tag, 304" -> "SameStrongTag304": gtest names allow only letters, digits and '_';
// each case struct keeps a readable `name` for its failure messages.
struct CaseName {
  template <class Case>
  std::string operator()(const ::testing::TestParamInfo<Case>& info_of_case) const {
    std::string out;
    bool upper = true;
    for (char c : std::string_view(info_of_case.param.name)) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
        upper = true;
        continue;
      }
      out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
      upper = false;
    }
    return out;
  }
};

}  // namespace cachecar::test
