//===- ReleasePages.cpp - Drop mapped tensor pages from memory --*- C++ -*-===//
//
// Reading a tensor through the mapping makes its pages resident and counts
// them against the process. A streaming consumer (quantizing a 7.6 GB
// checkpoint one tensor at a time) tells the kernel it is done with them, so
// the resident set stays at about one tensor. The pages stay in the page
// cache and fault back in from the file if anyone reads them again: this
// changes memory use, never the bytes.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/ParamStore.h"

#include "llvm/Support/Process.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif

void phiq::params::releasePages(const TensorRef &tensor) {
  if (!tensor.mapped)
    return;
  llvm::ArrayRef<uint8_t> bytes = tensor.data;
#if defined(__unix__) || defined(__APPLE__)
  // Only whole pages inside the range: the pages at either end may hold
  // bytes of the neighbouring tensors.
  uintptr_t page = llvm::sys::Process::getPageSizeEstimate();
  uintptr_t begin = reinterpret_cast<uintptr_t>(bytes.data());
  uintptr_t end = begin + bytes.size();
  uintptr_t first = (begin + page - 1) / page * page;
  uintptr_t last = end / page * page;
  if (first < last)
    (void)::madvise(reinterpret_cast<void *>(first), last - first,
                    MADV_DONTNEED);
#else
  (void)bytes;
#endif
}
