// Module load: kernel selection, the extension's GUCs and (when preloaded)
// its MemTables and compaction worker.
#include "vecgo/simd.h"
#include "guard.h"
#include "am.h"
#include "worker.h"

extern "C" {
#include "utils/guc.h"
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace {
char* g_simd_name = nullptr;  // vecgo.simd (read-only, reports the kernel set)
}

extern "C" void _PG_init(void) {
  vecgo::pg::Guard([]() {
  // VECGO_SIMD (environment, read at load) may force a lower instruction set.
  const vecgo::simd::Kernels& k = vecgo::simd::active();
  DefineCustomStringVariable("vecgo.simd", "Instruction set used by the distance kernels.",
                             "Read-only. Set the environment variable VECGO_SIMD (scalar, sse4.2, "
                             "avx2, avx512, neon) before the server starts to force a lower set.",
                             &g_simd_name, k.name, PGC_INTERNAL, GUC_NOT_IN_SAMPLE, nullptr,
                             nullptr, nullptr);
  vecgo::pg::InitIndexAm();
  vecgo::pg::InitMemTables();
  vecgo::pg::RegisterCompactionWorker();
  MarkGUCPrefixReserved("vecgo");
  });
}
