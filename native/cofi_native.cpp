// libcofitorch's own functions (see cofi_native.h). Built by
// scripts/build-native.sh, which defines COFI_NATIVE_API and
// COFI_NATIVE_INFO.
#include "cofi_native.h"

#include <dlfcn.h>
#include <string>

#include <torch/version.h>

#ifndef COFI_NATIVE_API
#error "COFI_NATIVE_API is defined by scripts/build-native.sh"
#endif
#ifndef COFI_NATIVE_INFO
#define COFI_NATIVE_INFO ""
#endif

extern "C" {

const char *cofi_native_api(void) { return COFI_NATIVE_API; }

const char *cofi_native_info(void) {
  static const std::string info =
      std::string("libtorch=") + TORCH_VERSION + "\n" + COFI_NATIVE_INFO;
  return info.c_str();
}

const char *cofi_native_path(void) {
  static std::string path;
  if (path.empty()) {
    Dl_info d;
    if (dladdr(reinterpret_cast<void *>(&cofi_native_path), &d) != 0 &&
        d.dli_fname != nullptr) {
      path = d.dli_fname;
    }
  }
  return path.c_str();
}
}
