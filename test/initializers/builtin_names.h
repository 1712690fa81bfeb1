// The built-in initializers' canonical names: what a fresh registry gets from
// detail::register_builtins. Registry::global() also holds the initializers tests register
// (registry_test's test_scaled_uniform, adding_an_initializer_test's small_init), which the
// every-initializer tests leave to their own tests.
#pragma once

#include <string>
#include <vector>

#include "initializers/builtins.h"
#include "torchinit/registry.h"

namespace torchinit::testutil {

inline std::vector<std::string> builtin_initializer_names() {
  Registry fresh;
  detail::register_builtins(fresh);
  return fresh.names();
}

}  // namespace torchinit::testutil
