/* The harness's own C functions in libcofitorch, next to gotch's torch_api.h.
 *
 * bin/cofi is linked against libcofitorch's C symbols only; the library is
 * rebuilt per libtorch by scripts/build-native.sh. cofi_native_api is the
 * first thing the binary calls: it names the C API the library was built
 * for, and exists, with this signature, in every version. */
#ifndef COFI_NATIVE_H
#define COFI_NATIVE_H

#ifdef __cplusplus
extern "C" {
#endif

/* "cofi-native-N:<hash>": the hash is of torch_api.h, torch_api_generated.h
 * and this header, so any change of a declaration changes it. */
const char *cofi_native_api(void);

/* What the library was built against, as "key=value" lines: libtorch (the
 * version its headers declare), source (debian, libtorch, python), cuda (0/1),
 * abi (the C++11 ABI, 0/1), guarded (wrapper functions replaced by errors),
 * root (the libtorch directory), built (UTC time), compiler. */
const char *cofi_native_info(void);

/* The file the dynamic loader loaded this library from. */
const char *cofi_native_path(void);

#ifdef __cplusplus
}
#endif

#endif
